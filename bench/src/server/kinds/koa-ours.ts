import { createServer } from 'node:http';
import { sse } from '@sse-middleware/koa';
import Koa from 'koa';
import type { StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { engineStats, ourSetup, publishTo } from '../ours.js';

/** @sse-middleware/koa as the app's first middleware. */
export const start: StartKind = async (ctx) => {
  const { channel, options } = ourSetup(ctx);
  const app = new Koa();
  const middleware = sse(options);
  app.use(middleware);
  const port = await listenNode(createServer(app.callback()));
  return {
    port,
    broadcast: publishTo(channel),
    connections: () => middleware.engine.connections.active,
    stats: () => engineStats(middleware.engine.stats()),
  };
};
