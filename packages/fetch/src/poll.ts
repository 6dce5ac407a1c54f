import { requestTarget } from '@sse-middleware/core';
import {
  type InnerHandler,
  markPoll,
  pollHeaders,
  withPollSignal,
} from '@sse-middleware/core/adapter';
import type { FetchHandler } from './types.js';

/** The runtime's arguments after the request (Bun's server, Deno's info, a Worker's env and ctx). */
export const runtimeArguments = new WeakMap<Request, readonly unknown[]>();

/**
 * The stream's runtime arguments for its poll. Behind a Node Fetch bridge the first holds the
 * stream's live Node request and response (`incoming`, `outgoing`), which the poll must not touch.
 */
function pollArguments(rest: readonly unknown[] | undefined): readonly unknown[] {
  if (!rest || rest.length === 0) return [];
  const [first, ...others] = rest;
  if (typeof first === 'object' && first !== null && ('incoming' in first || 'outgoing' in first)) {
    return [{ ...first, incoming: undefined, outgoing: undefined }, ...others];
  }
  return rest;
}

/**
 * The default chunk generator's inner handler: sends `GET <matched path>?<query>` through
 * `handler` in memory, with the client's headers and the runtime's arguments, and returns the
 * status and body it answered. Each poll is marked (`markPoll`), so that an `sse()` around the
 * handler passes it on instead of streaming it again. Aborting the stream aborts the poll.
 */
export function pollHandler(handler: FetchHandler): InnerHandler {
  return async (req, { signal }) => {
    const request = req.raw;
    if (!(request instanceof Request)) {
      throw new TypeError(
        `The default chunkGenerator needs the Request as the matched request's raw, received ${request === null ? 'null' : typeof request}: a requestMatcher that rewrites the request must keep raw`,
      );
    }
    const headers = pollHeaders(Object.fromEntries(request.headers));
    return withPollSignal(signal, async (pollSignal) => {
      const poll = new Request(new URL(requestTarget(req), request.url), {
        method: 'GET',
        headers,
        signal: pollSignal,
      });
      markPoll(poll);
      const response = await handler(poll, ...pollArguments(runtimeArguments.get(request)));
      return { status: response.status, body: await response.text() };
    });
  };
}
