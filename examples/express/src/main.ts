import type { AddressInfo } from 'node:net';
import { listenAddress, onShutdown } from '@sse-middleware/example-kit';
import { buildApp } from './app.js';

const { port, host } = listenAddress();
const app = buildApp();
const server = app.listen(port, host, () => {
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  console.log(`express example listening on ${url}`);
  console.log(`  curl -N "${url}/?stream=true"`);
  console.log(`  curl -N "${url}/app/metrics?stream=true"`);
  console.log(`  curl -N "${url}/score"`);
  console.log(`  curl -N "${url}/events"   and   curl -d 'hello' "${url}/publish"`);
});

onShutdown(async () => {
  // Streams first: server.close() waits for every open connection, and a stream never ends alone.
  await app.closeStreams();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});
