import Fastify from 'fastify';
import { SSE_PATH, type StartKind } from '../kind.js';
import { RawNodeStreams } from '../raw-node.js';

/** Baseline: a hijacked Fastify reply, written by hand. */
export const start: StartKind = async (ctx) => {
  const streams = new RawNodeStreams(ctx);
  const app = Fastify({ logger: false });
  app.get(SSE_PATH, (_request, reply) => {
    reply.hijack();
    streams.open(reply.raw);
  });
  await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    broadcast: (data) => streams.broadcast(data),
    connections: () => streams.clients.size,
  };
};
