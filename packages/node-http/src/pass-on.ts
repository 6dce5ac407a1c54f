import type { ServerResponse } from 'node:http';
import type { NodeListener, NodeRequest, NodeResponse } from './index.js';

/**
 * Calls the wrapped listener for a request that is not streamed, the way Express 5 calls a route
 * handler: a throw or a rejection goes to `next(error)` when there is a `next` (Connect/Express),
 * else to `onError`, and the client gets a 500 if nothing was sent yet, or the response is ended.
 * No handler can take the process down through an unhandled rejection.
 */
export function passOn<Req extends NodeRequest, Res extends NodeResponse>(
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
