import type { InnerResponse, SseRequest, StreamContext } from '@sse-middleware/core';
import type { InnerHandler } from '@sse-middleware/core/adapter';

/**
 * The app logic that the default chunk generator polls: what `GET <path>?<query>` answers. A
 * string is a 200 body; any other status than 2xx ends the stream with an error event.
 */
export type UwsPollHandler = (
  req: SseRequest,
  ctx: StreamContext,
) => InnerResponse | string | Promise<InnerResponse | string>;

/**
 * The default chunk generator's inner handler: calls `handler` with the matching request. uWS
 * cannot replay a request through its router, so no in-memory request is made and none needs
 * marking as a poll.
 */
export function pollHandler(handler: UwsPollHandler): InnerHandler {
  return async (req, ctx) => {
    const answer = await handler(req, ctx);
    return typeof answer === 'string' ? { status: 200, body: answer } : answer;
  };
}
