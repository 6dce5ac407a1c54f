import type { SseSink } from './sink.js';

/**
 * Lets a sink tell the engine that the client left without creating the AbortSignal behind
 * `sink.signal`, a real cost per stream when thousands are open. A sink that implements it (see
 * {@link WatchableSink}) can create its signal only when someone reads it; other sinks are
 * watched through their signal.
 */
export const WATCH_CLIENT: unique symbol = Symbol.for('sse-middleware.watch-client');

/** Told once when the client leaves. Also an EventListener, for sinks watched through `signal`. */
export interface ClientListener {
  clientGone(): void;
  handleEvent(): void;
}

/**
 * A sink the engine watches through {@link WATCH_CLIENT} instead of its `signal`:
 *
 * ```ts
 * import { type ClientListener, WATCH_CLIENT, type WatchableSink } from '@sse-middleware/core/adapter';
 *
 * abstract class MySink implements WatchableSink {
 *   #listener: ClientListener | undefined;
 *   clientGone = false;
 *   [WATCH_CLIENT](listener: ClientListener | undefined) { this.#listener = listener; }
 *   // Called when the server reports the disconnect:
 *   protected left() { this.clientGone = true; this.#listener?.clientGone(); }
 *   // As in every sink: signal (here created on its first read), head, write, close.
 *   abstract readonly signal: AbortSignal;
 *   abstract head(status: number, headers: Readonly<Record<string, string>>): void;
 *   abstract write(chunk: Uint8Array): undefined | Promise<void>;
 *   abstract close(): void;
 * }
 * ```
 */
export interface WatchableSink extends SseSink {
  /** `true` once the client has left. */
  readonly clientGone: boolean;
  /** Sets the one listener told when the client leaves (`undefined` to forget it). */
  [WATCH_CLIENT](listener: ClientListener | undefined): void;
}

function isWatchable(sink: SseSink): sink is WatchableSink {
  return WATCH_CLIENT in sink;
}

/** Starts telling `listener` when the client leaves; `true` when it already has (nothing is told then). */
export function watchClient(sink: SseSink, listener: ClientListener): boolean {
  if (isWatchable(sink)) {
    if (sink.clientGone) return true;
    sink[WATCH_CLIENT](listener);
    return false;
  }
  sink.signal.addEventListener('abort', listener, { once: true });
  return sink.signal.aborted;
}

export function unwatchClient(sink: SseSink, listener: ClientListener): void {
  if (isWatchable(sink)) sink[WATCH_CLIENT](undefined);
  else sink.signal.removeEventListener('abort', listener);
}

/** Whether the client has left, read from the sink's `clientGone` or its aborted `signal`. */
export function hasClientLeft(sink: SseSink): boolean {
  return isWatchable(sink) ? sink.clientGone : sink.signal.aborted;
}

/** An AbortSignal created only when first read; aborting before that just remembers it. */
export class LazyAbortSignal {
  #controller: AbortController | undefined;
  #aborted = false;

  get aborted(): boolean {
    return this.#aborted;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort();
    }
    return this.#controller.signal;
  }

  /** Idempotent. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#controller?.abort();
  }
}

/**
 * What a {@link WatchableSink} keeps about its client: a lazy `signal`, whether the client has
 * gone, and the one listener to tell when it goes.
 *
 * ```ts
 * import { type ClientListener, ClientPresence, WATCH_CLIENT } from '@sse-middleware/core/adapter';
 *
 * class Client { // what a WatchableSink delegates to
 *   readonly #client = new ClientPresence();
 *   get signal() { return this.#client.signal; }
 *   get clientGone() { return this.#client.aborted; }
 *   [WATCH_CLIENT](listener: ClientListener | undefined) { this.#client.watch(listener); }
 *   // Called when the server reports the disconnect:
 *   left() { this.#client.leave(); }
 * }
 * ```
 */
export class ClientPresence extends LazyAbortSignal {
  #listener: ClientListener | undefined;

  watch(listener: ClientListener | undefined): void {
    this.#listener = listener;
  }

  /** The client has gone: aborts the signal (if made) and tells the listener, once. */
  leave(): void {
    if (this.aborted) return;
    this.abort();
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.clientGone();
  }
}
