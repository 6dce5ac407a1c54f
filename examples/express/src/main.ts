import type { AddressInfo } from 'node:net';
import {
  announceListening,
  closeNodeServer,
  listenAddress,
  onShutdown,
} from '@sse-middleware/example-kit';
import { buildApp } from './app.js';

const { port, host } = listenAddress();
const app = buildApp();
const server = app.listen(port, host, () => {
  announceListening('express', `http://${host}:${(server.address() as AddressInfo).port}`);
});

onShutdown(async () => {
  // Streams first: server.close() waits for every open connection, and a stream never ends alone.
  await app.closeStreams();
  await closeNodeServer(server);
});
