/**
 * Our middleware on each adapter, mounted as the benchmark's `*-ours` server kinds mount it, but
 * handing back the channel itself: the soak needs each publish's outcome, not a fire-and-forget.
 */

import uWS from 'uWebSockets.js';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import type { Channel } from '@sse-middleware/core';
import fastifySse from '@sse-middleware/fastify';
import { sse as honoSse } from '@sse-middleware/hono';
import { sse as koaSse } from '@sse-middleware/koa';
import { sseMiddleware } from '@sse-middleware/node-http';
import { sse as uwsSse } from '@sse-middleware/uws';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { SSE_PATH } from '../server/kind.js';
import { listenNode } from '../server/listen.js';
import { ourSetup } from '../server/ours.js';
import { listenUws } from '../server/uws-listen.js';
import type { SoakServerConfig } from './protocol.js';

export interface SoakServer {
  port: number;
  channel: Channel;
  /** The engine's `connections.active`. */
  open(): number;
}

export async function startSoakServer(config: SoakServerConfig): Promise<SoakServer> {
  const { channel, options, store } = ourSetup({
    config: {
      kind: `${config.adapter}-ours`,
      mode: 'broadcast',
      maxConnections: 0,
      pollIntervalMs: 1000,
      payloadBytes: config.payloadBytes,
      store: config.store,
      ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
      ...(config.redisKey ? { redisKey: config.redisKey } : {}),
    },
    pollData: () => '',
  });
  await store.ready();
  switch (config.adapter) {
    case 'node-http': {
      const listener = sseMiddleware((_req, res) => {
        res.statusCode = 404;
        res.end();
      }, options);
      const port = await listenNode(createServer(listener));
      return { port, channel, open: () => listener.engine.connections.active };
    }
    case 'fastify': {
      const app = Fastify({ logger: false });
      await app.register(fastifySse, options);
      await app.listen({ host: '127.0.0.1', port: 0, backlog: 4096 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      return { port: address.port, channel, open: () => app.sseStreams.stats().open };
    }
    case 'koa': {
      const app = new Koa();
      const middleware = koaSse(options);
      app.use(middleware);
      const port = await listenNode(createServer(app.callback()));
      return { port, channel, open: () => middleware.engine.connections.active };
    }
    case 'hono': {
      const app = new Hono();
      const middleware = honoSse(options);
      app.use(middleware);
      app.notFound((c) => c.text('not found', 404));
      const port = await listenNode(createAdaptorServer({ fetch: app.fetch }) as Server);
      return { port, channel, open: () => middleware.engine.connections.active };
    }
    case 'uws': {
      const handler = uwsSse(options);
      const port = await listenUws(uWS.App().get(SSE_PATH, handler));
      return { port, channel, open: () => handler.engine.connections.active };
    }
  }
}
