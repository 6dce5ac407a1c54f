import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import {
  type CloseOptions,
  createNodeResponseSink,
  createRequestView,
  createSseEngine,
  type InnerHandler,
  pollHeaders,
  requestTarget,
  type SseEngine,
  type SseOptions,
  withPollSignal,
} from '@sse-middleware/core';
import { inject } from 'light-my-request';

export type NodeRequest = IncomingMessage | Http2ServerRequest;
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** A node:http (or node:http2 compat) request listener, or Connect/Express-style middleware. */
export type NodeListener<
  Req extends NodeRequest = NodeRequest,
  Res extends NodeResponse = NodeResponse,
> = (req: Req, res: Res, next?: (error?: unknown) => void) => unknown;

export interface NodeSseListener<Req extends NodeRequest, Res extends NodeResponse> {
  (req: Req, res: Res, next?: (error?: unknown) => void): void;
  /** The engine behind this listener: its `connections` counter shows the streams held. */
  readonly engine: SseEngine;
  /**
   * Graceful shutdown of this middleware's streams (see `SseEngine.close`): call it before
   * `server.close()`, which otherwise waits for streams that never end.
   *
   * ```ts
   * process.on('SIGTERM', async () => { await listener.close(); server.close(); });
   * ```
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Wraps a request listener so that matching requests become SSE streams, the way the original
 * wraps a Ring handler. Everything else reaches `handler` untouched.
 *
 * ```ts
 * import { createServer } from 'node:http';
 * import { sseMiddleware } from '@sse-middleware/node-http';
 *
 * // GET /app/metrics?stream=true streams the body of GET /app/metrics once per second.
 * createServer(sseMiddleware(handler)).listen(3000);
 * ```
 *
 * The default chunk generator calls `handler` for the same request (in memory, through
 * light-my-request) and sends its body as `data:`.
 */
export function sseMiddleware<
  Req extends NodeRequest = NodeRequest,
  Res extends NodeResponse = NodeResponse,
>(handler: NodeListener<Req, Res>, options: SseOptions = {}): NodeSseListener<Req, Res> {
  if (typeof handler !== 'function') {
    throw new TypeError(
      `sseMiddleware(handler) must be a request listener function, received ${String(handler)}`,
    );
  }
  const engine = createSseEngine(options, { innerHandler: injectInto(handler as NodeListener) });

  const listener = (req: Req, res: Res, next?: (error?: unknown) => void): void => {
    const view = createRequestView({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      raw: req,
    });
    const matched = engine.match(view);
    if (!matched) {
      handler(req, res, next);
      return;
    }
    void engine.serve(matched, createNodeResponseSink(res));
  };
  return Object.assign(listener, {
    engine,
    close: (closeOptions?: CloseOptions) => engine.close(closeOptions),
  });
}

/** Calls the wrapped listener in memory for the matching request and reads its body. */
function injectInto(handler: NodeListener): InnerHandler {
  return async (req, ctx) => {
    const original = req.raw as NodeRequest | undefined;
    const response = await withPollSignal(ctx.signal, (signal) =>
      inject(handler as Parameters<typeof inject>[0], {
        method: 'GET',
        url: requestTarget(req),
        headers: pollHeaders(original?.headers),
        remoteAddress: original?.socket?.remoteAddress,
        signal,
      }),
    );
    return { status: response.statusCode, body: response.payload };
  };
}
