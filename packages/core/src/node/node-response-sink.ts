import {
  type ClientListener,
  ClientPresence,
  WATCH_CLIENT,
  type WatchableSink,
} from '../adapter-kit/client-watch.js';
import type { SseSink } from '../adapter-kit/sink.js';
import { markSocketOf, unmarkSocketOf } from '../adapter-kit/stream-socket.js';
import { invalid } from '../util/validate.js';
import { chunkedFrame } from './chunked-frame.js';
import {
  directSocket,
  directTurn,
  type Http1Socket,
  stillDirect,
  writeDirect,
} from './http1-socket.js';
import { asNodeBuffer } from './node-buffer-view.js';

/**
 * The parts of a Node response (node:http `ServerResponse`, or node:http2's compat
 * `Http2ServerResponse`) the sink uses. Structural, so the core imports nothing from Node.
 */
export interface NodeResponseLike {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** node:http sends the head at once with it; node:http2 sends it on writeHead. */
  flushHeaders?: () => void;
  /** Added by compression middleware (`compression`, koa-compress) to push out what it buffered. */
  flush?: () => void;
  /** node:http2's compat response: its stream, which says `aborted` when the client resets it. */
  readonly stream?: { once(event: 'aborted', listener: () => void): unknown };
  /** node:http: the request, whose socket is marked as carrying a stream (see `refusePipelined`). */
  readonly req?: { readonly socket?: object | null };
  readonly socket?: object | null;
}

/**
 * An {@link SseSink} over a Node response. Headers already set on `res` (by CORS middleware, say)
 * are kept; the SSE headers are written over them. `write()` honours `false` by waiting for
 * `drain`, and that wait also ends when the connection closes, so it can never hang.
 *
 * On a node:http HTTP/1.1 chunked response that nothing wraps (no compression middleware, node's
 * own `res.write`), a chunk goes to the socket in one write of its chunked frame, made once for all
 * the streams a broadcast reaches, framed as `res.write()` frames it. Anywhere else (HTTP/2, a
 * wrapped or corked response, HEAD) it goes through `res.write()`.
 */
export function createNodeResponseSink(res: NodeResponseLike): SseSink {
  if (
    typeof res?.writeHead !== 'function' ||
    typeof res.write !== 'function' ||
    typeof res.once !== 'function'
  ) {
    throw invalid(
      'createNodeResponseSink(res)',
      'a Node ServerResponse or Http2ServerResponse',
      res,
    );
  }
  return new NodeResponseSink(res);
}

/**
 * Creates its AbortSignal only when `signal` is read: the engine watches the client directly. It
 * is its client's presence itself, and its one listener on the response is a bound `leave`: a
 * stream costs this object and that function. Its methods are `private`, not `#`: V8 gives every
 * instance of a class with `#` methods a brand slot.
 */
class NodeResponseSink extends ClientPresence implements WatchableSink {
  readonly #res: NodeResponseLike;
  /** HTTP/1.1: the socket marked as carrying this stream, until the response closes or ends. */
  #markedSocket: object | undefined;
  /** The socket of the last write straight to it: rechecked with `stillDirect`, not anew. */
  #directSocket: Http1Socket | undefined;
  /** The {@link directTurn} of the last write straight to the socket. */
  #directTurn = -1;

  constructor(res: NodeResponseLike) {
    super();
    this.#res = res;
    const leave = this.leave.bind(this);
    res.on('close', leave); // `on`, not `once` (a wrapper per stream): leave() is idempotent
    // A node:http2 stream that the client resets while a write is pending is ended but never
    // closed (it waits for that write, which cannot finish): `aborted` is then the only sign.
    res.stream?.once('aborted', leave);
    if (res.destroyed) leave();
  }

  get clientGone(): boolean {
    return this.aborted;
  }

  [WATCH_CLIENT](listener: ClientListener | undefined): void {
    this.watch(listener);
  }

  /** The response closed (or its HTTP/2 stream was reset): the connection carries no stream now. */
  override leave(): void {
    this.unmarkSocket();
    super.leave();
  }

  head(status: number, headers: Readonly<Record<string, string>>): void {
    const res = this.#res;
    res.writeHead(status, headers as Record<string, string>);
    res.flushHeaders?.();
    // HTTP/1.1: until this response ends, a request on its connection is pipelined behind it.
    const socket = res.stream === undefined ? (res.req?.socket ?? res.socket) : undefined;
    if (
      typeof socket === 'object' &&
      socket !== null &&
      this.#markedSocket === undefined &&
      !this.aborted
    ) {
      markSocketOf(socket, this);
      this.#markedSocket = socket;
    }
  }

  write(chunk: Uint8Array): undefined | Promise<void> {
    if (this.aborted) return undefined;
    const res = this.#res;
    const socket = chunk.byteLength > 0 ? this.socketToWrite(res) : undefined;
    const frame = socket && chunkedFrame(chunk);
    if (socket && frame) {
      const turn = directTurn();
      const again = this.#directTurn === turn;
      this.#directTurn = turn;
      return writeDirect(socket, frame, again) ? undefined : drained(socket, res);
    }
    if (res.writableEnded) {
      // Ended by someone else (the app, a timeout): its body is over, and a write now would be an
      // 'error' on the response that nothing handles. The stream ends as if the client had left.
      this.leave();
      return undefined;
    }
    const accepted = res.write(asNodeBuffer(chunk));
    res.flush?.();
    if (accepted) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }

  close(): void {
    const res = this.#res;
    this.unmarkSocket();
    if (!res.writableEnded && !res.destroyed) res.end();
  }

  private socketToWrite(res: NodeResponseLike): Http1Socket | undefined {
    const known = this.#directSocket;
    if (known !== undefined && stillDirect(res, known)) return known;
    const socket = directSocket(res);
    this.#directSocket = socket;
    return socket;
  }

  private unmarkSocket(): void {
    const socket = this.#markedSocket;
    if (socket === undefined) return;
    this.#markedSocket = undefined;
    unmarkSocketOf(socket, this);
  }
}

/**
 * Settles once a socket written to directly drains, or its response or the socket closes: the
 * response itself never emits `drain` for bytes it did not see.
 */
function drained(socket: Http1Socket, res: NodeResponseLike): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      res.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
    res.on('close', done);
  });
}
