import uWS from 'uWebSockets.js';
import { listenAddress, onShutdown } from '@sse-middleware/example-kit';
import { assertNativeUws } from '@sse-middleware/uws';
import { buildApp } from './app.js';

assertNativeUws(uWS);
const { port, host } = listenAddress();
const { app, closeStreams } = buildApp();

app.listen(host, port, (listenSocket) => {
  if (!listenSocket) {
    console.error(`uws example could not listen on ${host}:${port}`);
    process.exit(1);
  }
  const url = `http://${host}:${uWS.us_socket_local_port(listenSocket)}`;
  console.log(`uws example listening on ${url}`);
  console.log(`  curl -N "${url}/?stream=true"`);
  console.log(`  curl -N "${url}/app/metrics?stream=true"`);
  console.log(`  curl -N "${url}/score"`);
  console.log(`  curl -N "${url}/events"   and   curl -d 'hello' "${url}/publish"`);

  onShutdown(async () => {
    await closeStreams();
    uWS.us_listen_socket_close(listenSocket);
  });
});
