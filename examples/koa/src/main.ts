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
  announceListening('koa', `http://${host}:${(server.address() as AddressInfo).port}`);
});

onShutdown(async () => {
  await app.closeStreams();
  await closeNodeServer(server);
});
