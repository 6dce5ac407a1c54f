import type { SseEngine, SseRouteOptions, StreamInit } from '@sse-middleware/core';
import {
  createRequestView,
  createSseEngine,
  invalid,
  refusePipelined,
} from '@sse-middleware/core/adapter';
import { nodeBodySource } from '@sse-middleware/core/node';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { hijackForStream } from './hijack.js';
import { trackStreams } from './streams.js';

declare module 'fastify' {
  interface RouteShorthandOptions {
    /**
     * This route's own stream options for `reply.sseStream()` (with `sseReply` registered): the
     * plugin's options, overridden by these. `true` for the plugin's options as they are.
     */
    sseStream?: FastifySseReplyOptions | true;
  }
  interface FastifyReply {
    /**
     * Answers this request with a stream (decorated by `sseReply`), with the plugin's options and
     * `init` (its own `source`, `body`, `endEvent`): `return reply.sseStream({ source })`. Resolves once
     * the stream has ended, or the request was answered without one (a refused body, or
     * `options.answer`). Never rejects.
     */
    sseStream(init?: StreamInit): Promise<void>;
  }
}

/** The options of {@link sseReply}: the core's {@link SseOptions} without a matcher, plus a `name`. */
export interface FastifySseReplyOptions extends SseRouteOptions {
  /** Names this registration in `fastify.sseStreams.stats(name)`. */
  name?: string | undefined;
}

/** Where a route with its own `sseStream` option keeps its engine, in the route's config. */
const ROUTE_ENGINE = Symbol('sse-middleware route engine');

const plugin: FastifyPluginAsync<FastifySseReplyOptions> = async (fastify, options) => {
  const { name, ...given } = options;
  if (name != null && (typeof name !== 'string' || name === '')) {
    throw invalid('options.name', 'a non-empty string', name);
  }
  const defaults = given;
  const engine = createSseEngine(defaults, { route: true });
  trackStreams(fastify, engine, name ?? undefined);

  // Fastify declares a HEAD route for every GET with the same options: one engine per options object.
  const engines = new WeakMap<FastifySseReplyOptions, SseEngine>();
  fastify.addHook('onRoute', (route) => {
    const own = (route as { sseStream?: FastifySseReplyOptions | true }).sseStream;
    if (own === undefined || own === true) return;
    let routeEngine = engines.get(own);
    if (!routeEngine) {
      const { name: routeName, ...routeOptions } = own;
      routeEngine = createSseEngine({ ...defaults, ...routeOptions }, { route: true });
      trackStreams(fastify, routeEngine, routeName ?? undefined);
      engines.set(own, routeEngine);
    }
    route.config = {
      ...(route.config as object | undefined),
      [ROUTE_ENGINE]: routeEngine,
    } as typeof route.config;
  });

  fastify.decorateReply(
    'sseStream',
    function sseStream(this: FastifyReply, init?: StreamInit): Promise<void> {
      const request: FastifyRequest = this.request;
      if (refusePipelined(request.raw.socket)) {
        this.hijack();
        return Promise.resolve();
      }
      const view = createRequestView({
        method: request.method,
        url: request.url,
        headers: request.headers,
        raw: request,
        body: request.body === undefined ? nodeBodySource(request.raw) : { parsed: request.body },
      });
      const config = request.routeOptions.config as { [ROUTE_ENGINE]?: SseEngine } | undefined;
      const chosen = config?.[ROUTE_ENGINE] ?? engine;
      return chosen.prepare(view, init).then(({ answer, init: ready }) => {
        if (answer) {
          this.code(answer.status ?? 200);
          if (answer.headers) this.headers(answer.headers);
          this.send(answer.body === undefined ? '' : answer.body);
          return undefined;
        }
        return chosen.serve(view, hijackForStream(this), ready);
      });
    },
  );
};

/**
 * Decorates `reply.sseStream(init)`: a route answers with a stream the way Fastify routes answer,
 * `@fastify/sse` style. Every option is the core's (limits, heartbeat, `body`, `endEvent`…), and
 * a route may override them with its `sseStream` route option; the body is Fastify's parsed
 * `request.body` when the route has one. Streams are in `fastify.sseStreams` and end gracefully on
 * `fastify.close()`.
 *
 * ```ts context=fastify-app
 * import { sseReply } from '@sse-middleware/fastify';
 *
 * await app.register(sseReply, { heartbeat: 15_000 });
 * app.post<{ Body: { prompt: string; stream?: boolean } }>(
 *   '/v1/completions',
 *   { sseStream: { endEvent: { data: '[DONE]' }, maxConnections: 100 } },
 *   async (request, reply) => {
 *     const { prompt, stream } = request.body;
 *     if (!stream) return { text: prompt };
 *     return reply.sseStream({ source: prompt.split(' ').map((word) => ({ data: JSON.stringify({ word }) })) });
 *   },
 * );
 * ```
 */
export const sseReply = fastifyPlugin(plugin, {
  fastify: '5.x',
  name: '@sse-middleware/fastify/reply',
});
