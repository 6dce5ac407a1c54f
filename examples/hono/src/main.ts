import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import {
  announceListening,
  closeNodeServer,
  listenAddress,
  onShutdown,
} from '@sse-middleware/example-kit';
import { buildApp } from './app.js';

const { port, host } = listenAddress();
const app = buildApp();
const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  announceListening('hono', `http://${host}:${info.port}`);
});

onShutdown(async () => {
  await app.closeStreams();
  await closeNodeServer(server as Server);
});
