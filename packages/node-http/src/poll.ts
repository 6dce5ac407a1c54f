import { requestTarget } from '@sse-middleware/core';
import {
  type InnerHandler,
  markPoll,
  pollHeaders,
  withPollSignal,
} from '@sse-middleware/core/adapter';
import { inject } from 'light-my-request';
import type { NodeListener, NodeRequest } from './index.js';
import { passOn } from './pass-on.js';

/**
 * Calls the wrapped listener in memory for the matching request and reads its body. A listener
 * that throws or rejects fails the poll with its own error, which ends the stream as any failing
 * generator does. The poll request is marked (`markPoll`), so that a nested SSE middleware passes
 * it on instead of streaming it.
 */
export function injectInto(handler: NodeListener): InnerHandler {
  return async (req, ctx) => {
    const original = req.raw as NodeRequest | undefined;
    let failure: { error: unknown } | undefined;
    const guarded: NodeListener = (pollReq, pollRes) => {
      // A wrapped listener may be another SSE middleware (they nest): it must pass the poll on.
      markPoll(pollReq);
      passOn(handler, pollReq, pollRes, undefined, (error) => {
        failure ??= { error };
      });
    };
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
