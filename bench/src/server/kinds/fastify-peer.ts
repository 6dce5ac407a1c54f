import fastifySse, { type SSEPluginOptions, type SSEReplyInterface } from '@fastify/sse';
import Fastify, { type FastifyPluginAsync } from 'fastify';
import { SSE_PATH, type StartKind } from '../kind.js';

/** Peer: @fastify/sse (`{ sse: 'only' }` route, `reply.sse.send()` per client). */
export const start: StartKind = async (ctx) => {
  const { maxConnections, mode, pollIntervalMs } = ctx.config;
  const clients = new Set<SSEReplyInterface>();
  const app = Fastify({ logger: false });
  // The CommonJS default export is the fastify-plugin-wrapped plugin; its types say otherwise.
  await app.register(fastifySse as unknown as FastifyPluginAsync<SSEPluginOptions>, {
    heartbeatInterval: 0,
  });
  app.get(SSE_PATH, { sse: { kind: 'only', heartbeat: false } }, async (_request, reply) => {
    // @fastify/sse has no connection limit: counted by hand, as a user would.
    if (maxConnections > 0 && clients.size >= maxConnections) {
      reply.code(503).header('Retry-After', '5').type('text/plain');
      return 'busy';
    }
    const sse = reply.sse;
    sse.keepAlive();
    // Headers go out lazily with the first event; send them now so the client knows it is in.
    sse.sendHeaders();
    reply.raw.flushHeaders();
    clients.add(sse);
    let timer: NodeJS.Timeout | undefined;
    if (mode === 'poll') {
      let seq = 0;
      timer = setInterval(() => {
        seq += 1;
        sse.send({ data: ctx.pollData(seq) }).catch(() => {});
      }, pollIntervalMs);
    }
    sse.onClose(() => {
      clearInterval(timer);
      clients.delete(sse);
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    broadcast: (data) => {
      for (const sse of clients) sse.send({ data }).catch(() => {});
    },
    connections: () => clients.size,
  };
};
