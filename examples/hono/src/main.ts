import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { listenAddress, onShutdown } from '@sse-middleware/example-kit';
import { buildApp } from './app.js';

const { port, host } = listenAddress();
const app = buildApp();
const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  const url = `http://${host}:${info.port}`;
  console.log(`hono example listening on ${url}`);
  console.log(`  curl -N "${url}/?stream=true"`);
  console.log(`  curl -N "${url}/app/metrics?stream=true"`);
  console.log(`  curl -N "${url}/score"`);
  console.log(`  curl -N "${url}/events"   and   curl -d 'hello' "${url}/publish"`);
});

onShutdown(async () => {
  await app.closeStreams();
  await new Promise<void>((resolve) => {
    (server as Server).closeAllConnections();
    server.close(() => resolve());
  });
});
