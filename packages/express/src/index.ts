import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestMatcher, SseOptions } from '@sse-middleware/core';
import {
  attachHandle,
  createRequestBody,
  isPlainObject,
  resolveMatch,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { sse as nodeSse } from '@sse-middleware/node-http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { pollApp, withoutPollOrigin, withPollOrigin } from './poll.js';

/**
 * What {@link sse} returns: the Express middleware, with its `engine` (`engine.connections.active`
 * counts its open streams), graceful `close()` and `disconnect()` (the core's `SseHandle`). Call
 * `close()` before `server.close()`, which otherwise waits for streams that never end.
 *
 * ```ts context=express5-app
 * import { sse } from '@sse-middleware/express';
 *
 * const streams = sse();
 * app.use(streams);
 * const server = app.listen(3000);
 * process.once('SIGTERM', async () => {
 *   await streams.close();
 *   server.close();
 * });
 * ```
 */
export type SseMiddleware = SseHandler<RequestHandler>;

/**
 * Express middleware that turns matching requests into Server-Sent Events streams; every other
 * request goes on to `next()`. Use it on the app or on a router, before the routes it streams.
 *
 * ```ts context=express5-app
 * import { sse } from '@sse-middleware/express';
 *
 * // GET /app/metrics?stream=true streams the body of GET /app/metrics once per second.
 * app.use(sse());
 * app.get('/app/metrics', (_req, res) => {
 *   res.json(process.memoryUsage());
 * });
 * ```
 *
 * A matching request is answered by the middleware (keeping the headers that middleware in front
 * of it set, such as `cors()`), which never calls `next()` for it. The default chunk generator
 * sends a `GET` for the matched request through the whole app in memory once per second and
 * streams the body it answers. Errors of a stream go to `onError` and end it with `event: error`;
 * a `requestMatcher` that throws reaches Express's error handling (`next(error)`).
 *
 * @param options What to stream and how; see {@link SseOptions}. Invalid options throw a `TypeError`.
 */
export function sse(options: SseOptions = {}): SseMiddleware {
  const streams = nodeSse<IncomingMessage, ServerResponse>(passOnOrPoll, withParsedBody(options));
  const polls = options.source == null && options.chunkGenerator == null;
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (polls) withPollOrigin(req, () => streams(req, res, next));
    else streams(req, res, next);
  };
  return attachHandle(middleware, streams.engine);
}

/**
 * The listener the node-http adapter wraps: a request it does not stream comes with Express's
 * `next`, and goes on to the next middleware (outside the poll origin `sse()` set for it); a poll
 * of the default generator comes without, and goes through the app.
 */
function passOnOrPoll(
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
): void {
  if (next) withoutPollOrigin(next);
  else pollApp(req, res);
}

/**
 * The options with a matcher whose matching request reads `req.body` when a body parser in front
 * (`express.json()`, `express.text()`) has read the body already. Options the engine refuses are
 * left as they are, for it to name.
 */
function withParsedBody(options: SseOptions): SseOptions {
  const matcher: unknown = isPlainObject(options) ? options.requestMatcher : undefined;
  if (typeof matcher !== 'function') return options;
  return {
    ...options,
    requestMatcher: (req) => {
      const matched = resolveMatch(matcher as RequestMatcher, req);
      const parsed = (req.raw as { body?: unknown } | undefined)?.body;
      if (!matched || parsed === undefined) return matched;
      return { ...matched, body: createRequestBody({ parsed }, matched.headers) };
    },
  };
}

export { type SseRoute, sseRoute } from './route.js';
