import sseMiddleware from '@sse-middleware/fastify';
import Fastify from 'fastify';
import type { StartKind } from '../kind.js';
import { engineStats, ourSetup, publishTo } from '../ours.js';

/** @sse-middleware/fastify registered on the root instance. */
export const start: StartKind = async (ctx) => {
  const { channel, options } = ourSetup(ctx);
  const app = Fastify({ logger: false });
  await app.register(sseMiddleware, options);
  await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    broadcast: publishTo(channel),
    connections: () => app.sseStreams.stats().open,
    stats: () => engineStats(app.sseStreams.stats()),
  };
};
