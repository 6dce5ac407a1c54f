import type { SseSink } from '../adapter-kit/sink.js';

/**
 * What happens when a client cannot keep up and its send queue would pass its bound:
 * - `wait`: the producer waits for the client (pull sources: generators and iterables);
 * - `drop-oldest`: queued events are dropped, oldest first, to make room;
 * - `disconnect`: the stream ends; the client reconnects and replays from its `Last-Event-ID`.
 */
export type SlowConsumerPolicy = 'wait' | 'drop-oldest' | 'disconnect';

export interface OutputEvents {
  /** Bytes handed to the sink. */
  written(bytes: number): void;
  /** A queued chunk dropped by `drop-oldest`. */
  dropped(bytes: number): void;
  /** The bound was passed under `disconnect`. */
  overflowed(): void;
}

/**
 * One stream's way out: writes go straight to the sink while it accepts them, and into a queue
 * bounded in bytes while it is full. Whole chunks are queued and dropped, so framing survives.
 * What happens is told to `events`, or, without them, to the subclass's overrides of
 * {@link written}, {@link dropped} and {@link overflowed} (the engine's stream is its own output,
 * so an open stream is one object).
 */
export class StreamOutput implements OutputEvents {
  /** Created on the first backpressure: most streams never have one. */
  #queue: Uint8Array[] | undefined;
  #queuedBytes = 0;
  #backpressured = false;
  #idleWaiters: Array<() => void> | undefined;
  #closed = false;
  /** Where the bytes go; a subclass reads it rather than keep it a second time. */
  protected readonly sink: SseSink;
  readonly #policy: SlowConsumerPolicy;
  readonly #events: OutputEvents | undefined;
  /** When bytes were last handed over (or the stream opened): heartbeats go to idle streams. */
  lastWriteAt = Date.now();

  constructor(
    sink: SseSink,
    readonly maxQueuedBytes: number,
    policy: SlowConsumerPolicy,
    events?: OutputEvents,
  ) {
    this.sink = sink;
    this.#policy = policy;
    this.#events = events;
  }

  /** Sends one chunk without waiting. Pull producers then await {@link whenWritable}. */
  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    if (!this.#backpressured) {
      this.#write(bytes);
      return;
    }
    if (this.#queuedBytes + bytes.byteLength > this.maxQueuedBytes && this.#policy !== 'wait') {
      if (this.#policy === 'disconnect') {
        this.overflow();
        return;
      }
      if (bytes.byteLength > this.maxQueuedBytes) {
        this.dropped(bytes.byteLength); // it could never fit: drop it, keep the queue
        return;
      }
      const queue = this.#queue;
      while (
        queue &&
        queue.length > 0 &&
        this.#queuedBytes + bytes.byteLength > this.maxQueuedBytes
      ) {
        const dropped = queue.shift()!;
        this.#queuedBytes -= dropped.byteLength;
        this.dropped(dropped.byteLength);
      }
    }
    this.#queue ??= [];
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.byteLength;
  }

  /** `true` while the client's buffer is full or chunks wait in the queue. */
  get backpressured(): boolean {
    return this.#backpressured;
  }

  /** Resolves once the queue is empty and the client accepts writes again (at once if it does). */
  whenWritable(): Promise<void> | undefined {
    if (!this.#backpressured || this.#closed) return undefined;
    this.#idleWaiters ??= [];
    const waiters = this.#idleWaiters;
    return new Promise((resolve) => waiters.push(resolve));
  }

  /** Ends the stream as a slow consumer, as the `disconnect` policy does. */
  overflow(): void {
    if (this.#closed) return;
    this.close();
    this.overflowed();
  }

  /** Stops all writing; queued chunks are discarded. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = undefined;
    this.#queuedBytes = 0;
    this.#wakeWaiters();
  }

  written(bytes: number): void {
    this.#events?.written(bytes);
  }

  dropped(bytes: number): void {
    this.#events?.dropped(bytes);
  }

  overflowed(): void {
    this.#events?.overflowed();
  }

  #write(bytes: Uint8Array): void {
    this.lastWriteAt = Date.now();
    const pending = this.sink.write(bytes);
    this.written(bytes.byteLength);
    if (pending) {
      this.#backpressured = true;
      const drain = () => this.#drain();
      pending.then(drain, drain);
    }
  }

  #drain(): void {
    this.#backpressured = false;
    const queue = this.#queue;
    while (queue && !this.#closed && !this.#backpressured && queue.length > 0) {
      const next = queue.shift()!;
      this.#queuedBytes -= next.byteLength;
      this.#write(next);
    }
    if (!this.#backpressured) this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    const waiters = this.#idleWaiters;
    if (!waiters) return;
    this.#idleWaiters = undefined;
    for (const wake of waiters) wake();
  }
}
