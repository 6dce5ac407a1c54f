import type { SseOptions } from '@sse-middleware/core';
import {
  createRequestView,
  createSseEngine,
  invalid,
  refusePipelined,
} from '@sse-middleware/core/adapter';
import { nodeBodySource } from '@sse-middleware/core/node';
import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { hijackForStream } from './hijack.js';
import { endPollWithStream, injectRoute, streamSignalOf } from './poll.js';
import { trackStreams } from './streams.js';

export { type FastifySseReplyOptions, sseReply } from './reply.js';
export type { SseStreams } from './streams.js';

/**
 * The plugin's options: the core's {@link SseOptions}, plus a `name` for the registration. In
 * matchers and chunk generators, `req.raw` is the `FastifyRequest` being streamed.
 *
 * ```ts context=fastify-app,fastify-sse,uri-match
 * await app.register(sse, { name: 'score', requestMatcher: uriMatch('/score'), maxConnections: 100 });
 * ```
 */
export interface FastifySseOptions extends SseOptions {
  /**
   * Names this registration, unique on the app, so that `fastify.sseStreams.stats(name)` reads its
   * counters apart from the others'.
   */
  name?: string | undefined;
}

const plugin: FastifyPluginAsync<FastifySseOptions> = async (fastify, options) => {
  if ('prefix' in options) {
    throw invalid(
      'options.prefix',
      'absent: @sse-middleware/fastify applies to the routes of the context it is registered in (register it inside a prefixed plugin, or match with uriPrefixMatch)',
      options.prefix,
    );
  }
  const { name, ...sseOptions } = options;
  if (name != null && (typeof name !== 'string' || name === '')) {
    throw invalid('options.name', 'a non-empty string', name);
  }
  const engine = createSseEngine(sseOptions, { innerHandler: injectRoute(fastify) });
  trackStreams(fastify, engine, name ?? undefined);

  fastify.addHook('onRequest', (request, reply, done) => {
    const pollFor = streamSignalOf(request);
    if (pollFor) {
      endPollWithStream(pollFor, request, reply);
      return done();
    }
    // Pipelined behind an open stream on this connection: run nothing, close the connection.
    if (refusePipelined(request.raw.socket)) {
      reply.hijack();
      return;
    }
    const view = createRequestView({
      method: request.method,
      url: request.url,
      headers: request.headers,
      raw: request,
      body: nodeBodySource(request.raw),
    });
    const matched = engine.match(view);
    if (!matched) return done();
    // Like replying from a hook: `done` is not called, so no later hook or handler runs.
    engine.start(matched, hijackForStream(reply));
  });
};

/**
 * Turns matching requests into Server-Sent Events streams, the way ring-sse-middleware wraps a Ring
 * handler. It applies to every route of the context it is registered in (and its child contexts);
 * registered on the root instance it also covers URLs no route answers.
 *
 * ```ts
 * import Fastify from 'fastify';
 * import { sse } from '@sse-middleware/fastify';
 *
 * const app = Fastify();
 * // GET /app/metrics?stream=true streams the body of GET /app/metrics once per second.
 * await app.register(sse);
 * app.get('/app/metrics', async () => process.memoryUsage());
 * ```
 *
 * The default chunk generator runs the route again for the same request with `fastify.inject`
 * and sends its body as `data:`. `fastify.close()` ends every stream with a final `shutdown`
 * event; `fastify.sseStreams` reports on them and closes them with the server still up.
 */
export const sse = fastifyPlugin(plugin, {
  fastify: '5.x',
  name: '@sse-middleware/fastify',
});

/** The earlier name of {@link sse}, kept as an alias. */
export const sseMiddleware = sse;

export default sse;
