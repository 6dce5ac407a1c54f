import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenNode } from '../listen.js';

/** Peer: Hono's own streamSSE on @hono/node-server. */
export const start: StartKind = async (ctx) => {
  const { maxConnections, mode, pollIntervalMs } = ctx.config;
  const clients = new Set<SSEStreamingApi>();
  let open = 0;
  const app = new Hono();
  app.get(SSE_PATH, (c) => {
    // streamSSE has no connection limit: counted by hand, as a user would.
    if (maxConnections > 0 && open >= maxConnections) {
      return c.text('busy', 503, { 'Retry-After': '5' });
    }
    open += 1;
    return streamSSE(c, async (stream) => {
      const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
      try {
        if (mode === 'broadcast') {
          clients.add(stream);
          await closed;
          return;
        }
        let seq = 0;
        while (!stream.aborted) {
          await stream.sleep(pollIntervalMs);
          if (stream.aborted) break;
          seq += 1;
          await stream.writeSSE({ data: ctx.pollData(seq) });
        }
      } finally {
        clients.delete(stream);
        open -= 1;
      }
    });
  });
  const port = await listenNode(createAdaptorServer({ fetch: app.fetch }) as Server);
  return {
    port,
    broadcast: (data) => {
      for (const stream of clients) stream.writeSSE({ data }).catch(() => {});
    },
    connections: () => open,
  };
};
