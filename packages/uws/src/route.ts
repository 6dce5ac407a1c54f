import type { SseRouteOptions } from '@sse-middleware/core';
import {
  attachHandle,
  createSseEngine,
  invalid,
  requestHeadersToCopy,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { bodyOf } from './body.js';
import { refuseAmbiguousFraming } from './framing.js';
import { nativeResponseCheck } from './native.js';
import { copyRequest } from './request.js';
import { UwsResponseSink } from './response-sink.js';
import type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

/** The core's {@link SseRouteOptions}, plus which request headers the app reads. */
export interface UwsSseRouteOptions extends SseRouteOptions {
  /**
   * The request headers the app's own code reads (see `UwsSseOptions.requestHeaders`); the ones
   * the engine reads itself are always copied. Default: every header.
   */
  requestHeaders?: readonly string[] | undefined;
}

/** What {@link sseRoute} returns: a uWS route handler, with the core's `engine` and `close()`. */
export type UwsSseRoute = SseHandler<(res: UwsHttpResponse, req: UwsHttpRequest) => void>;

/**
 * A uWebSockets.js route handler that answers every request with a stream:
 * `app.post('/v1/chat/completions', sseRoute({ … }))`. The body is collected while the handler
 * runs (uWS hands it over only then), read as `options.body` says, and reaches the source as
 * `ctx.body`; `options.answer` sends JSON instead of a stream where the request asks for it.
 *
 * ```ts context=uws-app
 * import { sseRoute } from '@sse-middleware/uws';
 *
 * app.post(
 *   '/v1/completions',
 *   sseRoute({
 *     body: 'json',
 *     answer: (_req, ctx) => {
 *       const { prompt, stream } = ctx.body as { prompt: string; stream?: boolean };
 *       return stream ? undefined : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: prompt }) };
 *     },
 *     source: (_req, ctx) =>
 *       (ctx.body as { prompt: string }).prompt.split(' ').map((word) => ({ data: JSON.stringify({ word }) })),
 *     endEvent: { data: '[DONE]' },
 *   }),
 * );
 * ```
 */
export function sseRoute(options: UwsSseRouteOptions = {}): UwsSseRoute {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('sseRoute(options)', 'an object', options);
  }
  const { requestHeaders, ...engineOptions } = options;
  const engine = createSseEngine(engineOptions, { route: true });
  const keep = requestHeadersToCopy('sseRoute(options).requestHeaders', requestHeaders);
  const body = options.body;
  const keepBytes = typeof body === 'object' && body !== null ? body.maxBytes : undefined;
  const checkNative = nativeResponseCheck();

  const handler = (res: UwsHttpResponse, req: UwsHttpRequest): void => {
    checkNative(res);
    if (refuseAmbiguousFraming(res, req)) return;
    const sink = new UwsResponseSink(res);
    engine.start(copyRequest(req, keep, bodyOf(res, req, sink, keepBytes)), sink);
  };
  return attachHandle(handler, engine);
}
