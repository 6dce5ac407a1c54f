import { once } from 'node:events';
import cors from '@fastify/cors';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  fixtureUser,
  innerResponse,
  innerSlowResponse,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { sse, sseReply } from '../src/index.js';

/**
 * The conformance suite's inner app, as one Fastify route. HEAD comes from Fastify's automatic HEAD
 * route for GET; OPTIONS is left to @fastify/cors, which declares its own preflight route.
 */
export const innerApp: FastifyPluginAsync = async (app) => {
  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    handler: async (request, reply) => {
      const url = new URL(request.url, 'http://localhost');
      const answer =
        url.pathname === '/slow'
          ? await innerSlowResponse(once(request.raw, 'close'))
          : innerResponse(request.method, url.pathname, url.search.slice(1), request.headers);
      return reply.code(answer.status).type(answer.contentType).send(answer.body);
    },
  });
};

/**
 * What can still fail once the SSE hook has hijacked a request: hijacking stops the rest of the
 * request lifecycle, but Fastify still runs onRequestAbort hooks when the client leaves and
 * onResponse hooks when the response ends. Both throw here.
 */
export const failingAfterHijack = fastifyPlugin(async (app: FastifyInstance) => {
  app.addHook('onRequestAbort', async (request) => {
    throw new Error(`onRequestAbort failed for ${request.url}`);
  });
  app.addHook('onResponse', async (request) => {
    throw new Error(`onResponse failed for ${request.url}`);
  });
});

/**
 * Listens on 127.0.0.1 port 0. `close()` is `app.close()`: the streams end, then, with
 * `forceCloseConnections: true`, every connection is destroyed.
 */
export async function listen(app: FastifyInstance): Promise<ConformanceServer> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP address');
  return { url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

export const harness: ConformanceHarness = {
  name: 'fastify',
  async start(options: SseOptions, fixture = {}) {
    const app = Fastify({ forceCloseConnections: true });
    if (fixture.cors) await app.register(cors, { origin: CORS_ORIGIN });
    if (fixture.failingUpstream) await app.register(failingAfterHijack);
    const { endingUpstream } = fixture;
    if (endingUpstream) {
      app.addHook('onRequest', async (_request, reply) => {
        endingUpstream(() => reply.raw.end());
      });
    }
    await app.register(sse, options);
    if (fixture.secondMiddleware) await app.register(sse, fixture.secondMiddleware);
    await app.register(innerApp);
    const server = await listen(app);
    return { ...server, shutdownStreams: (closeOptions) => app.sseStreams.close(closeOptions) };
  },
  async startRoute(options, fixture = {}) {
    const app = Fastify({ forceCloseConnections: true });
    if (!fixture.frameworkBody) {
      // No parsing by Fastify: the body stays on the raw request for reply.sseStream() to read.
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    }
    await app.register(sseReply, options);
    if (fixture.frameworkAuth) {
      // Fastify's own auth: an onRequest hook sets request.user, or answers 401 itself.
      app.decorateRequest('user', null);
      app.addHook('onRequest', async (request, reply) => {
        const user = fixtureUser(request.headers.authorization);
        if (!user) return reply.code(401).header('WWW-Authenticate', 'Bearer').send();
        (request as { user?: unknown }).user = user;
      });
      app.all('/route', (request, reply) =>
        reply.sseStream({ principal: (request as { user?: { key: string } }).user }),
      );
    } else {
      app.all('/route', (_request, reply) => reply.sseStream());
    }
    const server = await listen(app);
    return { ...server, shutdownStreams: (closeOptions) => app.sseStreams.close(closeOptions) };
  },
};
