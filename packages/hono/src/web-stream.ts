import type { SseEngine, SseRequest, StreamInit } from '@sse-middleware/core';
import { createWebStreamSink, isBunServer, markStreamSocket } from '@sse-middleware/core/adapter';
import type { Context } from 'hono';
import type { NodeOutgoing } from './node-server.js';

/**
 * Streams through a `ReadableStream` Response, which every fetch runtime can send. Built with
 * `c.newResponse()`, as Hono builds its own responses, so headers set upstream on the context
 * (`c.header()`, `c.res.headers`) are kept, under the stream's own.
 */
export function streamResponse(
  c: Context,
  engine: SseEngine,
  matched: SseRequest,
  outgoing: NodeOutgoing | undefined,
  init?: StreamInit,
): Response {
  // On Bun (whose server is the app's env): the head is completed by a first comment, and the
  // stream's idle timeout (10 s by default) is turned off.
  const bun = isBunServer(c.env) ? c.env : undefined;
  const { sink, toResponse } = createWebStreamSink(
    outgoing ? closeSignal(outgoing) : c.req.raw.signal,
    undefined,
    { headComment: bun !== undefined },
  );
  // serve() calls sink.head() before its first await, so the status and headers are known here.
  engine.start(matched, sink, init);
  const response = toResponse();
  if (outgoing && response.status < 300) markUntilClosed(outgoing);
  if (bun && response.status < 300) bun.timeout(c.req.raw, 0);
  return c.newResponse(response.body, response);
}

/**
 * On @hono/node-server (HTTP/1.1), marks the connection as carrying a stream until the response
 * closes, so that a request pipelined behind it is refused (see `refusePipelinedOnNode`).
 */
function markUntilClosed(outgoing: NodeOutgoing): void {
  const socket =
    outgoing.stream === undefined ? (outgoing.req?.socket ?? outgoing.socket) : undefined;
  if (typeof socket !== 'object' || socket === null || outgoing.destroyed) return;
  const unmark = markStreamSocket(socket);
  outgoing.once('close', unmark);
}

/**
 * Aborts when the Node response closes. On @hono/node-server the request's signal aborts only when
 * the client leaves before the response is complete; when a middleware in front throws after this
 * one answered, Hono's onError answer replaces the stream, which is then never read nor cancelled,
 * and only the close of the Node response tells that the stream is over.
 */
function closeSignal(outgoing: NodeOutgoing): AbortSignal {
  const closed = new AbortController();
  outgoing.once('close', () => closed.abort());
  if (outgoing.destroyed) closed.abort();
  return closed.signal;
}
