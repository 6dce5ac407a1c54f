import { requestTarget } from '@sse-middleware/core';
import {
  type InnerHandler,
  markPoll,
  pollHeaders,
  withPollSignal,
} from '@sse-middleware/core/adapter';
import type Koa from 'koa';
import { inject } from 'light-my-request';

/**
 * The default chunk generator's inner handler: sends `GET <matched path>?<query>` through the whole
 * Koa app in memory (light-my-request into `app.callback()`), with the client's headers, and
 * returns the status and body the app answered. Each poll request is marked (`markPoll`), so that
 * every SSE middleware passes it downstream: a poll must get a finite answer, never another stream.
 * Aborting the stream aborts the in-flight poll.
 */
export const pollApp: InnerHandler = async (req, { signal }) => {
  const ctx = req.raw;
  if (!isKoaContext(ctx)) {
    throw new TypeError(
      `The default chunkGenerator needs the Koa context as the matched request's raw, received ${ctx === null ? 'null' : typeof ctx}: a requestMatcher that rewrites the request must keep raw`,
    );
  }
  const handle = ctx.app.callback();
  const response = await withPollSignal(signal, (pollSignal) =>
    inject(
      (innerReq, innerRes) => {
        markPoll(innerReq);
        void handle(innerReq, innerRes);
      },
      {
        method: 'GET',
        url: requestTarget(req),
        headers: pollHeaders(ctx.req.headers),
        remoteAddress: ctx.req.socket?.remoteAddress,
        signal: pollSignal,
      },
    ),
  );
  return { status: response.statusCode, body: response.payload };
};

function isKoaContext(value: unknown): value is Koa.Context {
  if (typeof value !== 'object' || value === null) return false;
  const { app, req } = value as Partial<Koa.Context>;
  return typeof app?.callback === 'function' && typeof req?.headers === 'object';
}
