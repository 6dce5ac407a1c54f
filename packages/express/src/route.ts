import type { SseRouteOptions, StreamInit } from '@sse-middleware/core';
import { attachHandle, type SseHandler } from '@sse-middleware/core/adapter';
import { sseRoute as nodeSseRoute } from '@sse-middleware/node-http';
import type { Request, RequestHandler, Response } from 'express';

/**
 * What {@link sseRoute} returns: an Express route handler that streams every request it is given,
 * with `respond(req, res, init)` to stream from a handler of your own, and the core's `engine`,
 * `close()` and `disconnect()`.
 *
 * ```ts context=express5-app
 * import { createChannel } from '@sse-middleware/core';
 * import { sseRoute } from '@sse-middleware/express';
 *
 * const news = createChannel();
 * const headlines = sseRoute({ source: news.source() });
 * // Your handler decides, then streams: here, only for ?live=1.
 * app.get('/headlines', (req, res) =>
 *   req.query.live === '1' ? headlines.respond(req, res) : res.json({ live: false }),
 * );
 * ```
 */
export type SseRoute = SseHandler<RequestHandler> & {
  /**
   * Streams `res` with this route's options and `init` (its own `source`, `body`, `endEvent`,
   * `principal`). Resolves once the stream has ended, or the request was answered without one (a
   * refused body, `options.answer`, a refusal). Never rejects.
   */
  respond(req: Request, res: Response, init?: StreamInit): Promise<void>;
};

/**
 * An Express route handler that answers every request it gets with a stream: for a POST that
 * starts one stream for one client (an LLM completion, an MCP call). The body is read as
 * `options.body` says, or taken from `req.body` when `express.json()` (or another parser) ran in
 * front, and reaches the source as `ctx.body`.
 *
 * ```ts context=express5-app
 * import { sseRoute } from '@sse-middleware/express';
 * import express from 'express';
 *
 * const completions = sseRoute({
 *   body: 'json',
 *   endEvent: { data: '[DONE]' },
 *   source: async function* (_req, ctx) {
 *     const { prompt } = ctx.body as { prompt: string };
 *     for (const word of prompt.split(' ')) yield { data: JSON.stringify({ word }) };
 *   },
 * });
 * app.post('/v1/completions', express.json(), completions);
 * ```
 *
 * Refusals are answered by the route itself, before any stream byte (400 or 413 for a body,
 * 401 or 403 from `authorize`, 403 for an origin, 429, 503); failures of `authorize`, `answer` or
 * the source go to `onError` (a 500 when nothing was sent, `event: error` once streaming). A route
 * with no source at all (none in `options`, none in `init`) is a programming error: it throws, and
 * Express hands the `TypeError` to its error handling.
 *
 * @param options What to stream and how; see {@link SseRouteOptions}. Invalid options throw a `TypeError`.
 */
export function sseRoute(options: SseRouteOptions = {}): SseRoute {
  const route = nodeSseRoute<Request, Response>(options);
  const handler = (req: Request, res: Response): void => route(req, res);
  return Object.assign(attachHandle(handler, route.engine), { respond: route.respond });
}
