import type { Server } from 'node:http';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { RawNodeStreams } from '../raw-node.js';

/** Baseline: the raw Node response under @hono/node-server (`c.env.outgoing`), by hand. */
export const start: StartKind = async (ctx) => {
  const streams = new RawNodeStreams(ctx);
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.get(SSE_PATH, (c) => {
    streams.open(c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });
  const port = await listenNode(createAdaptorServer({ fetch: app.fetch }) as Server);
  return {
    port,
    broadcast: (data) => streams.broadcast(data),
    connections: () => streams.clients.size,
  };
};
