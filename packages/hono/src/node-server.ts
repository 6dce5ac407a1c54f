import type { SseEngine, SseRequest, StreamInit } from '@sse-middleware/core';
import { refusePipelined, type StreamSocketLike } from '@sse-middleware/core/adapter';
import { createNodeResponseSink, type NodeResponseLike } from '@sse-middleware/core/node';
import type { Context } from 'hono';

/** The Node response @hono/node-server binds as `c.env.outgoing` (node:http or node:http2 compat). */
export interface NodeOutgoing extends NodeResponseLike {
  readonly statusCode: number;
  setHeader(name: string, value: string | readonly string[]): unknown;
}

/**
 * The header by which a response tells @hono/node-server that the app already answered on the Node
 * response itself: the one `RESPONSE_ALREADY_SENT` (from `@hono/node-server/utils/response`) carries.
 * Named here rather than imported so that this package loads on runtimes without @hono/node-server;
 * a test checks that it still matches.
 */
export const ALREADY_SENT_HEADER = 'x-hono-already-sent';

/** The Node response to write to, when the app runs on @hono/node-server. */
export function nodeOutgoingOf(c: Context): NodeOutgoing | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (typeof outgoing !== 'object' || outgoing === null) return undefined;
  const candidate = outgoing as Partial<NodeOutgoing>;
  return typeof candidate.writeHead === 'function' && typeof candidate.setHeader === 'function'
    ? (outgoing as NodeOutgoing)
    : undefined;
}

/**
 * Streams straight to the Node response, without the Web Streams bridge, and returns the response
 * that tells @hono/node-server not to answer again. Headers set upstream on the context
 * (`c.header()`, `c.res.headers`, as `hono/cors` does) go out with the stream's own.
 */
export function streamToNode(
  c: Context,
  engine: SseEngine,
  matched: SseRequest,
  outgoing: NodeOutgoing,
  init?: StreamInit,
): Response {
  copyHeaders(c.res.headers, outgoing);
  // serve() writes the head before its first await (given a prepared init) and never rejects.
  engine.start(matched, createNodeResponseSink(outgoing), init);
  return alreadySent(outgoing.statusCode);
}

/**
 * On @hono/node-server, a request pipelined behind an open stream on its connection: the
 * connection is closed (ending that stream), nothing runs, and the returned response tells
 * @hono/node-server not to answer. `undefined` for every other request.
 */
export function refusePipelinedOnNode(c: Context): Response | undefined {
  const incoming = (c.env as { incoming?: { socket?: StreamSocketLike } } | undefined)?.incoming;
  return refusePipelined(incoming?.socket) ? alreadySent(400) : undefined;
}

function copyHeaders(headers: Headers, outgoing: NodeOutgoing): void {
  for (const [name, value] of headers) {
    if (name !== 'set-cookie') outgoing.setHeader(name, value);
  }
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) outgoing.setHeader('set-cookie', cookies);
}

/** Carries the status that went out (200, or the 503 or 429 of a refusal), for loggers upstream. */
function alreadySent(status: number): Response {
  const response = new Response(null, { status, headers: { [ALREADY_SENT_HEADER]: 'true' } });
  // While it serves, @hono/node-server swaps the global Response for a lightweight one that keeps
  // a bodiless response in a cache, and writes a cached response out without looking for the header
  // above (so RESPONSE_ALREADY_SENT itself fails once Hono copies it to add the headers of middleware
  // in front: the copy is cached). Reading `body` makes this response, and any copy of it, plain.
  void response.body;
  return response;
}
