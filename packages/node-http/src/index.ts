import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import {
  type CloseOptions,
  requestTarget,
  type SseEngine,
  type SseOptions,
} from '@sse-middleware/core';
import {
  createRequestView,
  createSseEngine,
  type InnerHandler,
  pollHeaders,
  refusePipelined,
  withPollSignal,
} from '@sse-middleware/core/adapter';
import { createNodeResponseSink } from '@sse-middleware/core/node';
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
   * ```ts context=node-listener
   * process.on('SIGTERM', async () => { await listener.close(); server.close(); });
   * ```
   */
  close(options?: CloseOptions): Promise<void>;
}

/**
 * Wraps a request listener so that matching requests become SSE streams, the way the original
 * wraps a Ring handler. Everything else reaches `handler` untouched.
 *
 * ```ts context=node-handler
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
    // Pipelined behind an open stream on this connection: run nothing, close the connection.
    if (refusePipelined(req.socket)) return;
    const view = createRequestView({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      raw: req,
    });
    const matched = engine.match(view);
    if (!matched) {
      passOn(handler, req, res, next, (error) => engine.reportError(error, view));
      return;
    }
    void engine.serve(matched, createNodeResponseSink(res));
  };
  return Object.assign(listener, {
    engine,
    close: (closeOptions?: CloseOptions) => engine.close(closeOptions),
  });
}

/**
 * Calls the wrapped listener for a request that is not streamed, the way Express 5 calls a route
 * handler: a throw or a rejection goes to `next(error)` when there is a `next` (Connect/Express),
 * else to `onError`, and the client gets a 500 if nothing was sent yet, or the response is ended.
 * No handler can take the process down through an unhandled rejection.
 */
function passOn<Req extends NodeRequest, Res extends NodeResponse>(
  handler: NodeListener<Req, Res>,
  req: Req,
  res: Res,
  next: ((error?: unknown) => void) | undefined,
  report: (error: unknown) => void,
): void {
  const failed = (error: unknown) => {
    if (next) {
      next(error);
      return;
    }
    report(error);
    answerFailure(res);
  };
  let result: unknown;
  try {
    result = handler(req, res, next);
  } catch (error) {
    failed(error);
    return;
  }
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
    (result as PromiseLike<unknown>).then(undefined, failed);
  }
}

function answerFailure(res: NodeResponse): void {
  if (res.destroyed || res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = 'Internal Server Error';
  (res as ServerResponse).writeHead(500, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

/**
 * Calls the wrapped listener in memory for the matching request and reads its body. A listener
 * that throws or rejects fails the poll with its own error, which ends the stream as any failing
 * generator does.
 */
function injectInto(handler: NodeListener): InnerHandler {
  return async (req, ctx) => {
    const original = req.raw as NodeRequest | undefined;
    let failure: { error: unknown } | undefined;
    const guarded: NodeListener = (pollReq, pollRes) =>
      passOn(handler, pollReq, pollRes, undefined, (error) => {
        failure ??= { error };
      });
    const response = await withPollSignal(ctx.signal, (signal) =>
      inject(guarded as Parameters<typeof inject>[0], {
        method: 'GET',
        url: requestTarget(req),
        headers: pollHeaders(original?.headers),
        remoteAddress: original?.socket?.remoteAddress,
        signal,
      }),
    );
    if (failure) throw failure.error;
    return { status: response.statusCode, body: response.payload };
  };
}
