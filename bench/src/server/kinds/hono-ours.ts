import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { sse } from '@sse-middleware/hono';
import { Hono } from 'hono';
import type { StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { engineStats, ourSetup, publishTo } from '../ours.js';

/** @sse-middleware/hono on @hono/node-server (its default fast path: the Node response). */
export const start: StartKind = async (ctx) => {
  const { channel, options } = ourSetup(ctx);
  const app = new Hono();
  const middleware = sse(options);
  app.use(middleware);
  app.notFound((c) => c.text('not found', 404));
  const port = await listenNode(createAdaptorServer({ fetch: app.fetch }) as Server);
  return {
    port,
    broadcast: publishTo(channel),
    connections: () => middleware.engine.connections.active,
    stats: () => engineStats(middleware.engine.stats()),
  };
};
