import uWS from 'uWebSockets.js';
import { announceListening, listenAddress, onShutdown } from '@sse-middleware/example-kit';
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
  announceListening('uws', `http://${host}:${uWS.us_socket_local_port(listenSocket)}`);

  onShutdown(async () => {
    await closeStreams();
    uWS.us_listen_socket_close(listenSocket);
  });
});
