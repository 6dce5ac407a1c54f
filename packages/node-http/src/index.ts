import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { SseOptions } from '@sse-middleware/core';
import {
  attachHandle,
  createRequestView,
  createSseEngine,
  invalid,
  isPoll,
  refusePipelined,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { createNodeResponseSink, nodeBodySource } from '@sse-middleware/core/node';
import { passOn } from './pass-on.js';
import { injectInto } from './poll.js';

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** A node:http (or node:http2 compat) request listener, or Connect/Express-style middleware. */
export type NodeListener<
  Req extends NodeRequest = NodeRequest,
  Res extends NodeResponse = NodeResponse,
> = (req: Req, res: Res, next?: (error?: unknown) => void) => unknown;

/**
 * What {@link sse} returns: the request listener, with its `engine` and graceful `close()`
 * (the core's `SseHandle`).
 *
 * ```ts context=node-listener
 * process.on('SIGTERM', async () => { await listener.close(); server.close(); });
 * ```
 */
export type NodeSseListener<
  Req extends NodeRequest = NodeRequest,
  Res extends NodeResponse = NodeResponse,
> = SseHandler<(req: Req, res: Res, next?: (error?: unknown) => void) => void>;

/**
 * Wraps a request listener so that matching requests become SSE streams, the way the original
 * wraps a Ring handler. Everything else reaches `handler` untouched.
 *
 * ```ts context=node-handler
 * import { createServer } from 'node:http';
 * import { sse } from '@sse-middleware/node-http';
 *
 * // GET /app/metrics?stream=true streams the body of GET /app/metrics once per second.
 * createServer(sse(handler)).listen(3000);
 * ```
 *
 * The default chunk generator calls `handler` for the same request (in memory, through
 * light-my-request) and sends its body as `data:`.
 */
export function sse<Req extends NodeRequest = NodeRequest, Res extends NodeResponse = NodeResponse>(
  handler: NodeListener<Req, Res>,
  options: SseOptions = {},
): NodeSseListener<Req, Res> {
  if (typeof handler !== 'function') {
    throw invalid('sse(handler)', 'a request listener function', handler);
  }
  const engine = createSseEngine(options, { innerHandler: injectInto(handler as NodeListener) });

  const listener = (req: Req, res: Res, next?: (error?: unknown) => void): void => {
    // Pipelined behind an open stream on this connection: run nothing, close the connection.
    if (refusePipelined(req.socket)) return;
    const view = createRequestView({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      raw: req,
      body: nodeBodySource(req),
    });
    // A poll of an SSE middleware wrapping this one (they nest) is never streamed.
    const matched = isPoll(req) ? undefined : engine.match(view);
    if (!matched) {
      passOn(handler, req, res, next, (error) => engine.reportError(error, view));
      return;
    }
    engine.start(matched, createNodeResponseSink(res));
  };
  return attachHandle(listener, engine);
}

export { type NodeSseRoute, sseRoute } from './route.js';

/** The earlier name of {@link sse}, kept as an alias. */
export const sseMiddleware = sse;
