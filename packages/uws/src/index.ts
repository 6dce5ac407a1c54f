import type { SseEngine, SseOptions, SseRequest } from '@sse-middleware/core';
import {
  attachHandle,
  createRequestBody,
  createSseEngine,
  invalid,
  requestHeadersToCopy,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { bodyOf } from './body.js';
import { refuseAmbiguousFraming } from './framing.js';
import { nativeResponseCheck } from './native.js';
import { pollHandler, type UwsPollHandler } from './poll.js';
import { copyRequest } from './request.js';
import { UwsResponseSink } from './response-sink.js';
import type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

export { framingProblem, guardFraming, refuseAmbiguousFraming } from './framing.js';
export { assertNativeUws, isNativeUws } from './native.js';
export type { UwsPollHandler } from './poll.js';
export type { UwsRequestCopy } from './request.js';
export { sseRoute, type UwsSseRoute, type UwsSseRouteOptions } from './route.js';
export type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

/** The core's {@link SseOptions}, plus the handler the default chunk generator polls. */
export interface UwsSseOptions extends SseOptions {
  /**
   * Polled once a second per stream by the default chunk generator, with the matching request;
   * its body is sent as `data:`. uWS cannot replay a request through its router, so the app logic
   * to stream is given here as a plain function. Give this, `chunkGenerator` or `source`.
   */
  handler?: UwsPollHandler | undefined;
  /**
   * The request headers the app's own code reads: matchers, chunk generators, `source`,
   * `authorize`, `limitPerKey` and `rateLimit` keys, `answer`, hooks, `onError`. uWS's request dies
   * when the route handler returns, so the handler copies every header unless this names the ones
   * to keep (any case); the headers the engine reads itself (`Last-Event-ID`, `Accept`, `Origin`,
   * `Host`, `Content-Length`) are always copied. Others then read as absent. Default: every header.
   *
   * ```ts context=uws-app
   * import { createChannel, uriMatch } from '@sse-middleware/core';
   * import { sse } from '@sse-middleware/uws';
   *
   * const feed = createChannel();
   * app.get(
   *   '/feed',
   *   sse({ requestMatcher: uriMatch('/feed'), source: feed.source(), requestHeaders: [] }),
   * );
   * ```
   */
  requestHeaders?: readonly string[] | undefined;
}

/**
 * What {@link sse} returns: a uWebSockets.js route handler, for `app.get(pattern, handler)`, with
 * its `engine` and graceful `close()` (the core's `SseHandle`). Call `close()` before closing the
 * app, which otherwise cuts the streams without a word.
 *
 * ```ts context=uws-app,uws-streams
 * import uWS from 'uWebSockets.js';
 *
 * process.on('SIGTERM', async () => {
 *   await streams.close();
 *   uWS.us_listen_socket_close(listenSocket);
 * });
 * ```
 */
export type UwsSseHandler = SseHandler<(res: UwsHttpResponse, req: UwsHttpRequest) => void>;

/**
 * A uWebSockets.js route handler that turns matching requests into Server-Sent Events streams.
 * Every other request is yielded (`req.setYield(true)`), so uWS goes on to the next route that
 * matches it.
 *
 * ```ts context=uws-route
 * import uWS from 'uWebSockets.js';
 * import { sse } from '@sse-middleware/uws';
 *
 * const app = uWS.App();
 * // GET /app/metrics?stream=true streams route('/app/metrics').body once a second.
 * app.get('/*', sse({ handler: (req) => route(req.path) }));
 * // Everything else: what the SSE handler yields, and every other method.
 * app.any('/*', (res, req) => {
 *   res.end(route(req.getUrl()).body);
 * });
 * ```
 *
 * @param options What to stream and how: `handler`, `chunkGenerator` or `source`, plus the core's
 *   {@link SseOptions}. Invalid options throw a `TypeError`.
 * @throws Error on the first request when uWebSockets.js is a JavaScript imitation, not the
 *   native addon (see {@link assertNativeUws}).
 */
export function sse(options: UwsSseOptions): UwsSseHandler {
  const engine = createEngine(options);
  const keep = requestHeadersToCopy('options.requestHeaders', options.requestHeaders);
  const checkNative = nativeResponseCheck();

  const handler = (res: UwsHttpResponse, req: UwsHttpRequest): void => {
    checkNative(res);
    // Before anything else: a request uWS may have framed otherwise than a proxy in front.
    if (refuseAmbiguousFraming(res, req)) return;
    const matched = engine.match(copyRequest(req, keep));
    if (!matched) {
      req.setYield(true);
      return;
    }
    const sink = new UwsResponseSink(res);
    engine.start(engine.prepares ? withBody(matched, res, req, sink) : matched, sink);
  };
  return attachHandle(handler, engine);
}

/** A matched request, with its body (collected now: uWS hands it over only while the handler runs). */
function withBody(
  matched: SseRequest,
  res: UwsHttpResponse,
  req: UwsHttpRequest,
  sink: UwsResponseSink,
): SseRequest {
  const body = createRequestBody(bodyOf(res, req, sink), req.getHeader('content-length') || null);
  return { ...matched, body };
}

function createEngine(options: UwsSseOptions): SseEngine {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('options', 'an object', options);
  }
  const { handler, requestHeaders: _copied, ...engineOptions } = options;
  const streamOption =
    options.chunkGenerator != null ? 'chunkGenerator' : options.source != null ? 'source' : null;
  if (handler == null) {
    if (streamOption === null) {
      throw new TypeError(
        'sse(options) needs something to stream: options.handler (the app logic to poll once a second, (req) => ({ status, body }) or a string), options.chunkGenerator or options.source',
      );
    }
    return createSseEngine(engineOptions);
  }
  if (typeof handler !== 'function') {
    throw invalid('options.handler', 'a function', handler);
  }
  if (streamOption !== null) {
    throw new TypeError(
      `options.handler must be absent when options.${streamOption} is given (pick one), received a function`,
    );
  }
  return createSseEngine(engineOptions, { innerHandler: pollHandler(handler) });
}
