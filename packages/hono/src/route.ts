import type { SseAnswer, SseRouteOptions, StreamInit } from '@sse-middleware/core';
import {
  attachHandle,
  createSseEngine,
  invalid,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import type { Context, Handler } from 'hono';
import type { StatusCode } from 'hono/utils/http-status';
import { nodeOutgoingOf, refusePipelinedOnNode, streamToNode } from './node-server.js';
import { requestView } from './request.js';
import { streamResponse } from './web-stream.js';

/** The options of {@link sseRoute}: the core's {@link SseOptions} (no matcher), plus `nodeFastPath`. */
export interface HonoSseRouteOptions extends SseRouteOptions {
  /** As in `sse()`: on @hono/node-server, write straight to the Node response. Default `true`. */
  nodeFastPath?: boolean | undefined;
}

/**
 * What {@link sseRoute} returns: a Hono handler that answers every request with a stream, with
 * `respond(c, init)` to return a stream from a handler of your own, and the core's `engine` and
 * graceful `close()`.
 */
export type SseRoute = SseHandler<Handler> & {
  /**
   * The stream for this request, with the route's options and `init` (its own `source`, `body`,
   * `endEvent`): return it from the handler. A refused body or `options.answer` gives that answer.
   */
  respond(c: Context, init?: StreamInit): Promise<Response>;
};

/**
 * A Hono handler for a route that answers with a stream: `app.post('/v1/chat/completions',
 * sseRoute({ … }))`, or `return route.respond(c, { source })` from a handler that decides first.
 * The body is read as `options.body` says (from Hono's cache when the app read it already) and
 * reaches the source as `ctx.body`.
 *
 * ```ts context=hono-app
 * import { sseRoute } from '@sse-middleware/hono';
 *
 * const completions = sseRoute({ endEvent: { data: '[DONE]' } });
 * app.post('/v1/completions', async (c) => {
 *   const { prompt, stream } = await c.req.json<{ prompt: string; stream?: boolean }>();
 *   if (!stream) return c.json({ text: prompt });
 *   return completions.respond(c, {
 *     source: prompt.split(' ').map((word) => ({ data: JSON.stringify({ word }) })),
 *   });
 * });
 * ```
 */
export function sseRoute(options: HonoSseRouteOptions = {}): SseRoute {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('sseRoute(options)', 'an object', options);
  }
  const { nodeFastPath = true, ...engineOptions } = options;
  if (typeof nodeFastPath !== 'boolean') {
    throw invalid('options.nodeFastPath', 'a boolean', nodeFastPath);
  }
  const engine = createSseEngine(engineOptions, { route: true });

  const respond = async (c: Context, init?: StreamInit): Promise<Response> => {
    const pipelined = refusePipelinedOnNode(c);
    if (pipelined) return pipelined;
    const view = requestView(c);
    const { answer, init: ready } = await engine.prepare(view, init);
    if (answer) return answerResponse(c, answer);
    const outgoing = nodeOutgoingOf(c);
    if (outgoing && nodeFastPath) return streamToNode(c, engine, view, outgoing, ready);
    return streamResponse(c, engine, view, outgoing, ready);
  };
  const handler: Handler = (c) => respond(c);
  return Object.assign(attachHandle(handler, engine), { respond });
}

/** An answer sent instead of a stream, built as Hono builds responses (headers set upstream kept). */
export function answerResponse(c: Context, answer: SseAnswer): Response {
  const body = answer.body ?? null;
  const data = typeof body === 'string' || body === null ? body : new Uint8Array(body);
  return c.newResponse(data, (answer.status ?? 200) as StatusCode, { ...answer.headers });
}
