import { createServer } from 'node:http';
import { sseMiddleware } from '@sse-middleware/node-http';
import type { StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { engineStats, ourSetup, publishTo } from '../ours.js';

/** @sse-middleware/node-http wrapping a plain request listener. */
export const start: StartKind = async (ctx) => {
  const { channel, options } = ourSetup(ctx);
  const listener = sseMiddleware((_req, res) => {
    res.statusCode = 404;
    res.end();
  }, options);
  const port = await listenNode(createServer(listener));
  return {
    port,
    broadcast: publishTo(channel),
    connections: () => listener.engine.connections.active,
    stats: () => engineStats(listener.engine.stats()),
  };
};
