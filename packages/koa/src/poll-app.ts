import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { type InnerHandler, requestTarget } from '@sse-middleware/core';
import type Koa from 'koa';
import { inject } from 'light-my-request';

/**
 * The in-memory requests the default chunk generator sends into the app. Every `sse()` middleware
 * passes them downstream: a poll must get a finite answer, never another stream.
 */
const pollRequests = new WeakSet<IncomingMessage>();

export function isPollRequest(req: IncomingMessage): boolean {
  return pollRequests.has(req);
}

/**
 * The default chunk generator's inner handler: sends `GET <matched path>?<query>` through the whole
 * Koa app in memory (light-my-request into `app.callback()`), with the client's headers, and
 * returns the status and body the app answered. Aborting the stream aborts the in-flight poll.
 */
export const pollApp: InnerHandler = async (req, { signal }) => {
  const ctx = req.raw;
  if (!isKoaContext(ctx)) {
    throw new TypeError(
      `The default chunkGenerator needs the Koa context as the matched request's raw, received ${ctx === null ? 'null' : typeof ctx}: a requestMatcher that rewrites the request must keep raw`,
    );
  }
  const handle = ctx.app.callback();
  // light-my-request never detaches the listener it adds to the signal it is given, so each poll
  // gets its own signal, following the stream's only while the poll lasts.
  const poll = new AbortController();
  const abortPoll = () => poll.abort();
  signal.addEventListener('abort', abortPoll, { once: true });
  try {
    const response = await inject(
      (innerReq, innerRes) => {
        pollRequests.add(innerReq);
        void handle(innerReq, innerRes);
      },
      {
        method: 'GET',
        url: requestTarget(req),
        headers: pollHeaders(ctx.req.headers),
        remoteAddress: ctx.req.socket?.remoteAddress,
        signal: poll.signal,
      },
    );
    return { status: response.statusCode, body: response.payload };
  } finally {
    signal.removeEventListener('abort', abortPoll);
  }
};

/**
 * The client's headers, minus HTTP/2 pseudo-headers. `Accept-Encoding` becomes `identity`: the poll
 * reads the body as text, so a compressor in the app must leave it as it is.
 */
function pollHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    forwarded[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  forwarded['accept-encoding'] = 'identity';
  return forwarded;
}

function isKoaContext(value: unknown): value is Koa.Context {
  if (typeof value !== 'object' || value === null) return false;
  const { app, req } = value as Partial<Koa.Context>;
  return typeof app?.callback === 'function' && typeof req?.headers === 'object';
}
