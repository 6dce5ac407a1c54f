import type { SseSink } from '../adapter-kit/sink.js';

/**
 * What happens when a client cannot keep up and its send queue would pass its bound:
 * - `wait`: the producer waits for the client (pull sources: generators and iterables);
 * - `drop-oldest`: queued events are dropped, oldest first, to make room;
 * - `disconnect`: the stream ends; the client reconnects and replays from its `Last-Event-ID`.
 */
export type SlowConsumerPolicy = 'wait' | 'drop-oldest' | 'disconnect';

/** The bound of a stream's send queue: one object for all the streams of an engine. */
export interface QueueBound {
  readonly maxQueuedBytes: number;
  readonly policy: SlowConsumerPolicy;
}

/**
 * Milliseconds since this module loaded, as a 32-bit integer: V8 keeps one in the field itself,
 * where `Date.now()` takes a heap number of 16 bytes per stream. It wraps every 49.7 days, so
 * compare two of them with {@link msBetween} only.
 */
const EPOCH = Date.now();
export const elapsedMs = (): number => (Date.now() - EPOCH) | 0;

/** From one {@link elapsedMs} to a later one, across a wrap too (for spans under 24 days). */
export const msBetween = (earlier: number, later: number): number => (later - earlier) | 0;

/** While one event is written to many streams: the one {@link elapsedMs} they all share. */
let fanOutNow: number | undefined;

/**
 * Runs `writeAll(arg)` with one clock reading for every write it makes: a fan-out to 10,000
 * streams reads the clock once, not 10,000 times. Nested calls share the outer reading. `arg` is
 * passed through so that a caller needs no closure per event.
 */
export function withOneClockReading<T>(writeAll: (arg: T) => void, arg: T): void {
  if (fanOutNow !== undefined) {
    writeAll(arg);
    return;
  }
  fanOutNow = elapsedMs();
  try {
    writeAll(arg);
  } finally {
    fanOutNow = undefined;
  }
}

/**
 * What a stream holds only while its client is backpressured: the chunks queued for it, and the
 * producers waiting for it to drain.
 */
class Backlog {
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  /** A write the sink has not taken yet is pending. */
  full = true;
  waiters: Array<() => void> | undefined;

  wakeWaiters(): void {
    const waiters = this.waiters;
    this.waiters = undefined;
    if (waiters) for (const wake of waiters) wake();
  }
}

/**
 * One stream's way out: writes go straight to the sink while it accepts them, and into a queue
 * bounded in bytes while it is full. Whole chunks are queued and dropped, so framing survives.
 * What happens is told to {@link written}, {@link dropped} and {@link overflowed}, which a
 * subclass overrides (the engine's stream is its own output, so an open stream is one object).
 * Its methods are `private`, not `#`: V8 gives every instance of a class with `#` methods a
 * brand slot, 8 bytes per stream.
 */
export class StreamOutput {
  /** Where the bytes go; a subclass reads it rather than keep it a second time. */
  protected readonly sink: SseSink;
  readonly #bound: QueueBound;
  /** Made on a backpressure and dropped once the client has caught up: most streams never have one. */
  #backlog: Backlog | undefined;
  #closed = false;
  /** When bytes were last handed over (or the stream opened), in {@link elapsedMs}: heartbeats go to idle streams. */
  lastWriteAt = elapsedMs();

  constructor(sink: SseSink, bound: QueueBound) {
    this.sink = sink;
    this.#bound = bound;
  }

  get maxQueuedBytes(): number {
    return this.#bound.maxQueuedBytes;
  }

  /** Sends one chunk without waiting. Pull producers then await {@link whenWritable}. */
  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    const backlog = this.#backlog;
    if (backlog === undefined) {
      this.writeNow(bytes);
      return;
    }
    const { maxQueuedBytes, policy } = this.#bound;
    if (backlog.bytes + bytes.byteLength > maxQueuedBytes && policy !== 'wait') {
      if (policy === 'disconnect') {
        this.overflow();
        return;
      }
      if (bytes.byteLength > maxQueuedBytes) {
        this.dropped(bytes.byteLength); // it could never fit: drop it, keep the queue
        return;
      }
      const queue = backlog.chunks;
      while (queue.length > 0 && backlog.bytes + bytes.byteLength > maxQueuedBytes) {
        const dropped = queue.shift()!;
        backlog.bytes -= dropped.byteLength;
        this.dropped(dropped.byteLength);
      }
    }
    backlog.chunks.push(bytes);
    backlog.bytes += bytes.byteLength;
  }

  /** `true` while the client's buffer is full or chunks wait in the queue. */
  get backpressured(): boolean {
    return this.#backlog !== undefined;
  }

  /** Resolves once the queue is empty and the client accepts writes again (at once if it does). */
  whenWritable(): Promise<void> | undefined {
    const backlog = this.#backlog;
    if (backlog === undefined) return undefined;
    backlog.waiters ??= [];
    const waiters = backlog.waiters;
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
    const backlog = this.#backlog;
    this.#backlog = undefined;
    backlog?.wakeWaiters();
  }

  /** Bytes handed to the sink. */
  written(_bytes: number): void {}

  /** A queued chunk dropped by `drop-oldest`. */
  dropped(_bytes: number): void {}

  /** The bound was passed under `disconnect`. */
  overflowed(): void {}

  private writeNow(bytes: Uint8Array): void {
    this.lastWriteAt = fanOutNow ?? elapsedMs();
    const pending = this.sink.write(bytes);
    this.written(bytes.byteLength);
    if (!pending) return;
    if (this.#backlog) this.#backlog.full = true;
    else if (!this.#closed) this.#backlog = new Backlog();
    const drain = () => this.drainBacklog();
    pending.then(drain, drain);
  }

  private drainBacklog(): void {
    const backlog = this.#backlog;
    if (backlog === undefined) return; // closed meanwhile
    backlog.full = false;
    const queue = backlog.chunks;
    while (!this.#closed && !backlog.full && queue.length > 0) {
      const next = queue.shift()!;
      backlog.bytes -= next.byteLength;
      this.writeNow(next);
    }
    if (backlog.full || this.#closed) return;
    this.#backlog = undefined;
    backlog.wakeWaiters();
  }
}
