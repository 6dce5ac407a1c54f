import type { SseRouteOptions, StreamInit } from '@sse-middleware/core';
import {
  attachHandle,
  createRequestView,
  createSseEngine,
  refusePipelined,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { createNodeResponseSink } from '@sse-middleware/core/node';
import type Koa from 'koa';
import { bodyOf } from './body.js';
import { ignoreDisconnects } from './disconnect.js';

/**
 * What {@link sseRoute} returns: Koa middleware that streams every request reaching it, with
 * `respond(ctx, init)` to stream from middleware of your own, and the core's `engine` and `close()`.
 */
export type SseRoute<StateT = Koa.DefaultState, ContextT = Koa.DefaultContext> = SseHandler<
  Koa.Middleware<StateT, ContextT>
> & {
  /**
   * Streams this request with the route's options and `init` (its own `source`, `body`,
   * `endEvent`). Resolves once the stream has started, or the request was answered (`ctx.body`)
   * without one: a refused body, or `options.answer`.
   */
  respond(ctx: Koa.ParameterizedContext<StateT, ContextT>, init?: StreamInit): Promise<void>;
};

/**
 * Koa middleware for a route that answers with a stream: put it on a router route
 * (`router.post('/v1/chat/completions', sseRoute({ … }))`). The body is read as `options.body`
 * says, or taken from `ctx.request.body` when a body parser (`@koa/bodyparser`, `koa-body`) ran
 * first, and reaches the source as `ctx.body`.
 *
 * ```ts context=koa-app
 * import { sseRoute } from '@sse-middleware/koa';
 *
 * const completions = sseRoute({
 *   body: 'json',
 *   endEvent: { data: '[DONE]' },
 *   source: async function* (_req, ctx) {
 *     const { prompt } = ctx.body as { prompt: string };
 *     for (const word of prompt.split(' ')) yield { data: JSON.stringify({ word }) };
 *   },
 * });
 * app.use(async (ctx, next) => (ctx.path === '/v1/completions' ? completions(ctx, next) : next()));
 * ```
 */
export function sseRoute<StateT = Koa.DefaultState, ContextT = Koa.DefaultContext>(
  options: SseRouteOptions = {},
): SseRoute<StateT, ContextT> {
  const engine = createSseEngine(options, { route: true });

  const respond = async (
    ctx: Koa.ParameterizedContext<StateT, ContextT>,
    init?: StreamInit,
  ): Promise<void> => {
    if (refusePipelined(ctx.req.socket)) {
      ctx.respond = false;
      return;
    }
    const view = createRequestView({
      method: ctx.method,
      url: ctx.url,
      headers: ctx.headers,
      raw: ctx,
      body: bodyOf(ctx),
    });
    const { answer, init: ready } = await engine.prepare(view, init);
    if (answer) {
      ctx.status = answer.status ?? 200;
      if (answer.headers) ctx.set(answer.headers as Record<string, string>);
      ctx.body =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : Buffer.from(answer.body);
      return;
    }
    ctx.respond = false;
    ignoreDisconnects(ctx);
    engine.start(view, createNodeResponseSink(ctx.res), ready);
  };
  const middleware: Koa.Middleware<StateT, ContextT> = (ctx) => respond(ctx);
  return Object.assign(attachHandle(middleware, engine), { respond });
}
