/**
 * HTTP/1.1 connections that carry an open SSE stream. A request that arrives on one was pipelined
 * behind the stream: its answer could only go out after the stream ends, which may be never, so
 * a client that retries it elsewhere would run it twice. Node's servers still hand such a request
 * to the app (uWebSockets.js closes the connection instead): the Node adapters call
 * {@link refusePipelined} first, so it never runs.
 *
 * Structural (any object with `destroy()`), so the core imports nothing from Node.
 */
const streaming = new WeakMap<object, object>();

/** A Node `net.Socket`, as far as this module needs one. */
export interface StreamSocketLike {
  destroy(): unknown;
}

/**
 * Marks `socket` as carrying an open stream, until the returned function is called (when the
 * stream ends). Not for HTTP/2, where every request has a stream of its own.
 */
export function markStreamSocket(socket: object): () => void {
  // A token per mark, so that a late unmark of an ended stream never clears a newer stream's mark.
  const mark = {};
  markSocketOf(socket, mark);
  return () => unmarkSocketOf(socket, mark);
}

/**
 * Marks `socket` as carrying the stream of `owner` (its sink, say), without a closure: until
 * {@link unmarkSocketOf} is given the same owner.
 */
export function markSocketOf(socket: object, owner: object): void {
  streaming.set(socket, owner);
}

/** Clears the mark of `owner`; a newer stream's mark on the same socket is kept. */
export function unmarkSocketOf(socket: object, owner: object): void {
  if (streaming.get(socket) === owner) streaming.delete(socket);
}

/** Whether `socket` carries an open SSE stream (a request on it was pipelined behind it). */
export function socketHasStream(socket: unknown): boolean {
  return typeof socket === 'object' && socket !== null && streaming.has(socket);
}

/**
 * Refuses a request pipelined behind an open stream: when `socket` carries one, destroys the
 * connection (which ends that stream: its client reconnects with `Last-Event-ID` and loses
 * nothing) and returns `true`, and the caller must then run nothing for the request. Returns
 * `false`, doing nothing, for any other request.
 *
 * ```ts
 * import type { IncomingMessage, ServerResponse } from 'node:http';
 * import { refusePipelined } from '@sse-middleware/core/adapter';
 *
 * function listener(req: IncomingMessage, res: ServerResponse) {
 *   if (refusePipelined(req.socket)) return;
 *   res.end('hello');
 * }
 * ```
 */
export function refusePipelined(socket: StreamSocketLike | null | undefined): boolean {
  if (!socketHasStream(socket)) return false;
  (socket as StreamSocketLike).destroy();
  return true;
}
