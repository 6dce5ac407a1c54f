import { createServer } from 'node:http';
import Koa from 'koa';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { RawNodeStreams } from '../raw-node.js';

/** Baseline: `ctx.respond = false` on Koa, then the Node response by hand. */
export const start: StartKind = async (ctx) => {
  const streams = new RawNodeStreams(ctx);
  const app = new Koa();
  // Koa logs every client reset of a response it no longer owns; the adapter handles those itself.
  app.silent = true;
  app.use(async (koaCtx) => {
    if (koaCtx.path !== SSE_PATH) {
      koaCtx.status = 404;
      return;
    }
    koaCtx.respond = false;
    streams.open(koaCtx.res);
  });
  const port = await listenNode(createServer(app.callback()));
  return {
    port,
    broadcast: (data) => streams.broadcast(data),
    connections: () => streams.clients.size,
  };
};
