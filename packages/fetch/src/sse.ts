import type { SseOptions } from '@sse-middleware/core';
import { attachHandle, createSseEngine, invalid, isPoll } from '@sse-middleware/core/adapter';
import { pollHandler, runtimeArguments } from './poll.js';
import { requestView } from './request.js';
import { refusePipelinedRequest, streamResponse } from './respond.js';
import type { FetchHandler, FetchSseHandler } from './types.js';

/**
 * Wraps a fetch handler so that matching requests become SSE streams; every other request (and
 * every poll of the default chunk generator) reaches `handler` untouched, with the runtime's
 * arguments.
 *
 * ```ts
 * import { createChannel, uriMatch } from '@sse-middleware/core';
 * import { sse } from '@sse-middleware/fetch';
 *
 * const prices = createChannel();
 * const app = (request: Request) => new Response(`no stream at ${new URL(request.url).pathname}`);
 * // Bun.serve({ fetch: handler }), Deno.serve(handler), export default { fetch: handler }
 * export const handler = sse(app, { requestMatcher: uriMatch('/prices'), source: prices.source() });
 * ```
 *
 * Without `source` or `chunkGenerator`, `GET <route>?stream=true` streams the body of
 * `GET <route>` from `handler` once per second, as the original does. On Bun a stream's idle
 * timeout is turned off (`server.timeout(request, 0)`): heartbeats keep proxies open instead.
 */
export function sse<Rest extends unknown[] = unknown[]>(
  handler: FetchHandler<Rest>,
  options: SseOptions = {},
): FetchSseHandler<Rest> {
  if (typeof handler !== 'function') {
    throw invalid('sse(handler)', 'a fetch handler, (request) => Response', handler);
  }
  const engine = createSseEngine(options, {
    innerHandler: pollHandler(handler as FetchHandler),
  });
  const fetch = async (request: Request, ...rest: Rest): Promise<Response> => {
    // A poll of an SSE handler wrapping this one (they nest) runs in memory, and is never streamed.
    if (isPoll(request)) return handler(request, ...rest);
    const pipelined = refusePipelinedRequest(rest[0]);
    if (pipelined) return pipelined;
    const matched = engine.match(requestView(request));
    if (!matched) return handler(request, ...rest);
    if (rest.length > 0) runtimeArguments.set(request, rest);
    return streamResponse(engine, matched, request, undefined, rest[0]);
  };
  return attachHandle(fetch, engine);
}
