import { STATUS_CODES } from 'node:http';
import {
  type ClientListener,
  ClientPresence,
  WATCH_CLIENT,
  type WatchableSink,
} from '@sse-middleware/core/adapter';
import { corkedWrite } from './corked-write.js';
import type { UwsHttpResponse } from './uws.js';

/**
 * uWS sends the end of the header block only with the first body byte, so an event stream starts
 * with an empty comment line to put its head on the wire at once. Not a byte order mark: the spec
 * allows one, but httpx-sse, sseclient-py, requests-sse and aiohttp-sse-client keep it and lose
 * the stream's first field. No blank line follows, so clients that dispatch an event on every blank
 * line see nothing either; a spec parser ignores the line wherever a block starts.
 */
const HEAD_COMMENT = new Uint8Array([0x3a, 0x0a]); // ':\n'

/**
 * An {@link SseSink} over a uWebSockets.js response. Every write happens inside `res.cork()`, and
 * once uWS reports the response aborted (or it has ended) the response is never touched again.
 *
 * It is the client's presence itself (`signal`, created only if read, and the listener the engine
 * watches through `WATCH_CLIENT`), and it gives uWS one bound function for both of its
 * callbacks, so a stream costs this object, that function and the response. Its methods are
 * `private`, not `#`: V8 gives every instance of a class with `#` methods a brand slot.
 */
export class UwsResponseSink extends ClientPresence implements WatchableSink {
  /** `undefined` once the client has gone or the response has ended: it is invalid from then on. */
  #res: UwsHttpResponse | undefined;
  /** While uWS holds bytes the socket did not take: what a write returns until it drains. */
  #drain: Drain | undefined;

  constructor(res: UwsHttpResponse) {
    super();
    this.#res = res;
    const handler = this.responseEvent.bind(this);
    res.onAborted(handler);
    // Registered up front: with an onWritable handler, uWS clears the socket timeout when the
    // client catches up; without one it arms its 10 s idle timeout and later drops a live stream.
    res.onWritable(handler);
  }

  get clientGone(): boolean {
    return this.aborted;
  }

  [WATCH_CLIENT](listener: ClientListener | undefined): void {
    this.watch(listener);
  }

  /**
   * The one handler uWS gets for a stream, bound to its sink: `onAborted` calls it with nothing
   * (the response is invalid from then on), `onWritable` with the write offset (the client caught up).
   */
  private responseEvent(offset?: number): boolean {
    if (offset === undefined) {
      this.#res = undefined;
      this.leave();
    }
    this.settleDrain();
    return true;
  }

  head(status: number, headers: Readonly<Record<string, string>>): void {
    const res = this.#res;
    if (res === undefined) return;
    res.cork(() => {
      res.writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`);
      let eventStream = false;
      for (const name in headers) {
        const value = headers[name]!;
        const lower = name.toLowerCase();
        // uWS frames the body itself (chunked): a Content-Length would contradict it.
        if (lower === 'content-length') continue;
        if (lower === 'content-type') eventStream = value.startsWith('text/event-stream');
        res.writeHeader(name, value);
      }
      if (eventStream) res.write(HEAD_COMMENT);
    });
  }

  write(chunk: Uint8Array): undefined | Promise<void> {
    const res = this.#res;
    if (res === undefined) return undefined;
    let accepted: boolean;
    try {
      accepted = corkedWrite(res, chunk);
    } catch {
      // Ended by the app (a wrapper in front of the handler), which uWS reports to nobody: the
      // response is invalid now and throws. The stream ends as if the client had left.
      this.responseEvent();
      return undefined;
    }
    // uWS keeps whatever the socket did not take; `false` says its buffer is growing.
    if (accepted || this.#res === undefined) return undefined;
    if (this.#drain === undefined) {
      this.#drain = new Drain();
      draining.watch(this);
    }
    return this.#drain.promise;
  }

  /**
   * While a write waits for its drain: a response the app ended meanwhile gets neither `onWritable`
   * nor `onAborted`, and says so only by throwing when touched. Its stream then ends as if the
   * client had left, rather than hold its slot until the server shuts down.
   */
  checkResponse(): void {
    const res = this.#res;
    if (res === undefined) return;
    try {
      res.getWriteOffset();
    } catch {
      this.responseEvent();
    }
  }

  close(): void {
    const res = this.#res;
    if (res === undefined) return;
    this.#res = undefined;
    res.cork(() => {
      res.end();
    });
    this.settleDrain();
  }

  private settleDrain(): void {
    const drain = this.#drain;
    if (drain === undefined) return;
    this.#drain = undefined;
    draining.unwatch(this);
    drain.resolve();
  }
}

/**
 * The streams whose write waits for a drain, each checked every second by one timer
 * ({@link UwsResponseSink.checkResponse}); the timer runs only while there are any.
 */
const draining = {
  sinks: new Set<UwsResponseSink>(),
  timer: undefined as ReturnType<typeof setInterval> | undefined,

  watch(sink: UwsResponseSink): void {
    this.sinks.add(sink);
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      for (const waiting of this.sinks) waiting.checkResponse();
    }, 1000);
    this.timer.unref();
  },

  unwatch(sink: UwsResponseSink): void {
    this.sinks.delete(sink);
    if (this.sinks.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  },
};

/** A promise and its resolver: made only when a stream is backpressured. */
class Drain {
  readonly promise: Promise<void>;
  resolve!: () => void;

  constructor() {
    this.promise = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }
}
