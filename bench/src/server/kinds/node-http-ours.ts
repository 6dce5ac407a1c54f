import { createServer } from 'node:http';
import { sseMiddleware } from '@sse-middleware/node-http';
import type { StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { engineStats, ourSetup, publishTo, resetPublishTimings } from '../ours.js';

/** @sse-middleware/node-http wrapping a plain request listener (in memory or on Redis). */
export const start: StartKind = async (ctx) => {
  const { channel, options, store } = ourSetup(ctx);
  await store.ready();
  const listener = sseMiddleware((_req, res) => {
    res.statusCode = 404;
    res.end();
  }, options);
  const port = await listenNode(createServer(listener));
  return {
    port,
    broadcast: publishTo(channel),
    connections: () => listener.engine.connections.active,
    stats: () => ({ ...engineStats(listener.engine.stats()), ...store.timings() }),
    resetStats() {
      resetPublishTimings();
      store.resetTimings();
    },
    async close() {
      channel.close();
      await store.close();
    },
  };
};
