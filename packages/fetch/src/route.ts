import type { SseRouteOptions, StreamInit } from '@sse-middleware/core';
import { attachHandle, createSseEngine } from '@sse-middleware/core/adapter';
import { requestView } from './request.js';
import { refusePipelinedRequest, streamResponse } from './respond.js';
import type { FetchSseHandler } from './types.js';

/** What {@link sseRoute} returns: a fetch handler that streams every request, and `respond()`. */
export type FetchSseRoute<Rest extends unknown[] = unknown[]> = FetchSseHandler<Rest> & {
  /**
   * The stream for `request`, with the route's options and `init` (its own `source`, `body`,
   * `endEvent`, `principal`): return it from a handler of your own. A refused body, a refusal of
   * `authorize` or `options.answer` gives that answer instead.
   */
  respond(request: Request, init?: StreamInit, ...rest: Rest): Promise<Response>;
};

/**
 * A fetch handler that answers every request with a stream: a Next.js route handler
 * (`export const POST = sseRoute({ … })`), a route of `Bun.serve({ routes })`, or
 * `return route.respond(request, { source })` from a handler that decides first.
 *
 * ```ts
 * import { sseRoute } from '@sse-middleware/fetch';
 *
 * // app/api/completions/route.ts (Next.js), or Bun.serve({ routes: { '/v1/completions': { POST } } })
 * export const POST = sseRoute({
 *   body: 'json',
 *   endEvent: { data: '[DONE]' },
 *   source: async function* (_req, ctx) {
 *     const { prompt } = ctx.body as { prompt: string };
 *     for (const word of prompt.split(' ')) yield { data: JSON.stringify({ word }) };
 *   },
 * });
 * ```
 */
export function sseRoute<Rest extends unknown[] = unknown[]>(
  options: SseRouteOptions = {},
): FetchSseRoute<Rest> {
  const engine = createSseEngine(options, { route: true });
  const respond = async (request: Request, init?: StreamInit, ...rest: Rest): Promise<Response> =>
    refusePipelinedRequest(rest[0]) ??
    streamResponse(engine, requestView(request), request, init, rest[0]);
  const fetch = (request: Request, ...rest: Rest): Promise<Response> =>
    respond(request, undefined, ...rest);
  return Object.assign(attachHandle(fetch, engine), { respond });
}
