import type { SseOptions } from '@sse-middleware/core';
import {
  attachHandle,
  createRequestView,
  createSseEngine,
  isPoll,
  refusePipelined,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { createNodeResponseSink } from '@sse-middleware/core/node';
import type Koa from 'koa';
import { bodyOf } from './body.js';
import { ignoreDisconnects } from './disconnect.js';
import { pollApp } from './poll.js';

/**
 * What {@link sse} returns: the Koa middleware, with its `engine` (`engine.connections.active`
 * counts its open streams) and graceful `close()` (the core's `SseHandle`). Call `close()` before
 * `server.close()`, which otherwise waits for streams that never end.
 *
 * ```ts context=koa-app,koa-sse
 * const streams = sse();
 * app.use(streams);
 * const server = app.listen(3000);
 * process.once('SIGTERM', async () => { await streams.close(); server.close(); });
 * ```
 */
export { type SseRoute, sseRoute } from './route.js';

export type SseMiddleware<StateT = Koa.DefaultState, ContextT = Koa.DefaultContext> = SseHandler<
  Koa.Middleware<StateT, ContextT>
>;

/**
 * Koa middleware that turns matching requests into Server-Sent Events streams; every other
 * request goes to `next()` untouched.
 *
 * ```ts context=koa-routes
 * import Koa from 'koa';
 * import { sse } from '@sse-middleware/koa';
 *
 * const app = new Koa();
 * // GET /app/metrics?stream=true streams the body of GET /app/metrics once per second.
 * app.use(sse());
 * app.use(routes); // after sse(): a route that answers does not call next()
 * ```
 *
 * A matching request is answered by the middleware itself (`ctx.respond = false`, the stream goes
 * to `ctx.res`, keeping headers set upstream with `ctx.set()`), and the middleware resolves as
 * soon as the stream has started. The default chunk generator sends `GET` for the matched request
 * through the whole app in memory once per second and streams the body it answers.
 *
 * @param options What to stream and how; see {@link SseOptions}. Invalid options throw a `TypeError`.
 */
export function sse<StateT = Koa.DefaultState, ContextT = Koa.DefaultContext>(
  options: SseOptions = {},
): SseMiddleware<StateT, ContextT> {
  const engine = createSseEngine(options, { innerHandler: pollApp });

  const middleware: Koa.Middleware<StateT, ContextT> = async (ctx, next) => {
    if (isPoll(ctx.req)) return next();
    // Pipelined behind an open stream on this connection: run nothing, close the connection.
    if (refusePipelined(ctx.req.socket)) {
      ctx.respond = false;
      return;
    }
    const matched = engine.match(
      createRequestView({
        method: ctx.method,
        url: ctx.url,
        headers: ctx.headers,
        raw: ctx,
        body: bodyOf(ctx),
      }),
    );
    if (!matched) return next();
    ctx.respond = false;
    ignoreDisconnects(ctx);
    // serve() sends the head before its first await and never rejects: not awaiting it hands
    // control back to upstream middleware while the stream carries on (see the README).
    engine.start(matched, createNodeResponseSink(ctx.res));
  };
  return attachHandle(middleware, engine);
}
