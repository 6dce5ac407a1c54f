import { createServer } from 'node:http';
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
const server = createServer(app);

server.listen(port, host, () => {
  announceListening('node-http', `http://${host}:${(server.address() as AddressInfo).port}`);
});

onShutdown(async () => {
  await app.closeStreams();
  await closeNodeServer(server);
});
