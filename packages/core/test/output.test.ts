import { describe, expect, it } from 'vitest';
import type { SseSink } from '../src/adapter.js';
import {
  elapsedMs,
  msBetween,
  type SlowConsumerPolicy,
  StreamOutput,
  withOneClockReading,
} from '../src/engine/output.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** One macrotask: every pending microtask (a drain, say) has run by then. */
const tick = () => sleep(0);

/**
 * A sink whose write() reports a full buffer (returns a promise) while `full` is set; each such
 * promise settles only when the test calls release() (or fail()).
 */
class ControlledSink implements SseSink {
  readonly signal = new AbortController().signal;
  /** Every chunk handed over, as the very objects the output passed. */
  readonly chunks: Uint8Array[] = [];
  full = false;
  private readonly pending: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];

  head(): void {}

  write(chunk: Uint8Array): undefined | Promise<void> {
    this.chunks.push(chunk);
    if (!this.full) return undefined;
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  close(): void {}

  /** Settles the oldest pending write: the client's buffer drained. */
  release(): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no pending write to release');
    next.resolve();
  }

  /** Rejects the oldest pending write. */
  fail(): void {
    const next = this.pending.shift();
    if (!next) throw new Error('no pending write to fail');
    next.reject(new Error('write failed'));
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  get text(): string[] {
    return this.chunks.map((c) => new TextDecoder().decode(c));
  }
}

interface Recorded {
  written: number[];
  dropped: number[];
  overflowed: number;
}

/** An output that records what it tells its subclass hooks. */
class RecordingOutput extends StreamOutput {
  readonly events: Recorded = { written: [], dropped: [], overflowed: 0 };

  override written(bytes: number): void {
    this.events.written.push(bytes);
  }

  override dropped(bytes: number): void {
    this.events.dropped.push(bytes);
  }

  override overflowed(): void {
    this.events.overflowed += 1;
  }
}

function setup(policy: SlowConsumerPolicy, maxQueuedBytes = 10) {
  const sink = new ControlledSink();
  const output = new RecordingOutput(sink, { maxQueuedBytes, policy });
  return { sink, events: output.events, output };
}

/** A chunk of `length` bytes, all `letter`, so chunks are told apart by their text. */
const chunk = (letter: string, length: number) => new TextEncoder().encode(letter.repeat(length));

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('StreamOutput: direct writes', () => {
  it.each<SlowConsumerPolicy>(['wait', 'drop-oldest', 'disconnect'])(
    'writes straight to a sink that accepts (%s)',
    (policy) => {
      const { sink, events, output } = setup(policy, 10);
      const a = chunk('a', 3);
      const b = chunk('b', 50); // larger than the bound: irrelevant while the sink accepts
      const c = chunk('c', 1);
      output.send(a);
      output.send(b);
      output.send(c);
      // Synchronously, the very same objects, in order.
      expect(sink.chunks).toHaveLength(3);
      expect(sink.chunks[0]).toBe(a);
      expect(sink.chunks[1]).toBe(b);
      expect(sink.chunks[2]).toBe(c);
      expect(events.written).toEqual([3, 50, 1]);
      expect(events.dropped).toEqual([]);
      expect(events.overflowed).toBe(0);
      expect(output.backpressured).toBe(false);
      expect(output.whenWritable()).toBeUndefined();
    },
  );
});

describe('StreamOutput: backpressure and queue', () => {
  it('queues while a write is pending and drains in order when it resolves', async () => {
    const { sink, events, output } = setup('wait', 100);
    sink.full = true;
    const a = chunk('a', 2);
    const b = chunk('b', 3);
    const c = chunk('c', 4);
    output.send(a);
    expect(output.backpressured).toBe(true);
    output.send(b);
    output.send(c);
    expect(sink.chunks).toEqual([a]);
    expect(events.written).toEqual([2]);

    sink.full = false;
    sink.release();
    await tick();
    expect(sink.chunks).toHaveLength(3);
    expect(sink.chunks[1]).toBe(b);
    expect(sink.chunks[2]).toBe(c);
    expect(events.written).toEqual([2, 3, 4]);
    expect(output.backpressured).toBe(false);
    expect(output.whenWritable()).toBeUndefined();

    // Writable again: the next chunk goes straight through.
    const d = chunk('d', 1);
    output.send(d);
    expect(sink.chunks[3]).toBe(d);
  });

  it('stops draining when a drained write is backpressured again, and resumes on its release', async () => {
    const { sink, output } = setup('wait', 100);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 1));
    output.send(chunk('c', 1));
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'b']);
    expect(output.backpressured).toBe(true);
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'b', 'c']);
    expect(output.backpressured).toBe(true); // c's own write is pending
    sink.release();
    await tick();
    expect(output.backpressured).toBe(false);
    expect(sink.pendingWrites).toBe(0);
  });

  it('drains also when the pending write rejects', async () => {
    const { sink, output } = setup('wait', 100);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 1));
    sink.full = false;
    sink.fail();
    await tick();
    expect(sink.text).toEqual(['a', 'b']);
    expect(output.backpressured).toBe(false);
  });

  it('whenWritable() resolves only once the whole queue has drained', async () => {
    const { sink, output } = setup('wait', 100);
    expect(output.whenWritable()).toBeUndefined();
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 1));
    const writable = output.whenWritable();
    expect(writable).toBeInstanceOf(Promise);
    let resolved = false;
    void writable!.then(() => {
      resolved = true;
    });

    sink.release(); // b is written, and is pending in turn
    await tick();
    expect(sink.text).toEqual(['a', 'b']);
    expect(resolved).toBe(false);

    sink.release();
    await tick();
    expect(resolved).toBe(true);
    expect(output.whenWritable()).toBeUndefined();
  });

  it('whenWritable() resolves every waiter on close(), and is undefined afterwards', async () => {
    const { sink, output } = setup('wait', 100);
    sink.full = true;
    output.send(chunk('a', 1));
    const first = output.whenWritable();
    const second = output.whenWritable();
    let count = 0;
    void first!.then(() => {
      count += 1;
    });
    void second!.then(() => {
      count += 1;
    });
    await tick();
    expect(count).toBe(0);
    output.close();
    await tick();
    expect(count).toBe(2);
    expect(output.whenWritable()).toBeUndefined();
  });
});

describe("StreamOutput: policy 'wait'", () => {
  it('queues beyond the bound: nothing dropped, no overflow, all written in order', async () => {
    const { sink, events, output } = setup('wait', 4);
    sink.full = true;
    output.send(chunk('a', 10));
    output.send(chunk('b', 10));
    output.send(chunk('c', 10));
    output.send(chunk('d', 10));
    expect(events.overflowed).toBe(0);
    expect(events.dropped).toEqual([]);
    expect(output.backpressured).toBe(true);
    sink.full = false;
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'b', 'c', 'd'].map((l) => l.repeat(10)));
    expect(events.written).toEqual([10, 10, 10, 10]);
  });
});

describe("StreamOutput: policy 'disconnect'", () => {
  it('overflows once, when the queued bytes would pass the bound, and writes nothing afterwards', async () => {
    const { sink, events, output } = setup('disconnect', 10);
    sink.full = true;
    output.send(chunk('a', 50)); // handed over (the bound applies to the queue only)
    output.send(chunk('b', 4)); // queued: 4
    output.send(chunk('c', 6)); // queued: 10, exactly the bound: still fine
    expect(events.overflowed).toBe(0);
    output.send(chunk('d', 1)); // 11 would pass the bound
    expect(events.overflowed).toBe(1);
    output.send(chunk('e', 1));
    output.send(chunk('f', 100));
    expect(events.overflowed).toBe(1);
    expect(events.dropped).toEqual([]);

    sink.full = false;
    sink.release();
    await tick();
    // The queue (b, c) was discarded with the stream: nothing more reached the sink.
    expect(sink.text).toEqual(['a'.repeat(50)]);
    expect(events.written).toEqual([50]);
    output.send(chunk('g', 1));
    expect(sink.chunks).toHaveLength(1);
    expect(output.whenWritable()).toBeUndefined();
  });
});

describe("StreamOutput: policy 'drop-oldest'", () => {
  it('drops whole oldest chunks to make room, reporting each one', async () => {
    const { sink, events, output } = setup('drop-oldest', 10);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 3));
    output.send(chunk('c', 3));
    output.send(chunk('d', 3)); // queued 9
    expect(events.dropped).toEqual([]);
    output.send(chunk('e', 2)); // 11: drop b entirely (not 1 byte of it)
    expect(events.dropped).toEqual([3]);
    output.send(chunk('f', 7)); // 8 + 7: drop c, then d
    expect(events.dropped).toEqual([3, 3, 3]);
    expect(events.overflowed).toBe(0);
    expect(output.backpressured).toBe(true);

    sink.full = false;
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'ee', 'fffffff']);
    expect(events.written).toEqual([1, 2, 7]);
    expect(output.backpressured).toBe(false);
  });

  it('drops a chunk larger than the bound itself', async () => {
    const { sink, events, output } = setup('drop-oldest', 10);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 11));
    expect(events.dropped).toEqual([11]);
    output.send(chunk('c', 10)); // exactly the bound fits
    expect(events.dropped).toEqual([11]);
    sink.full = false;
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'c'.repeat(10)]);
  });

  // BUG (src/engine/output.ts, send(), the drop loop before the size check): a chunk larger than the
  // bound first empties the whole queue (every queued chunk is reported dropped) and is then
  // dropped itself, so queued events are lost for nothing: the big chunk never fits anyway.
  it('a chunk larger than the bound does not evict the queued chunks that fit', async () => {
    const { sink, events, output } = setup('drop-oldest', 10);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 3));
    output.send(chunk('c', 3));
    output.send(chunk('x', 11));
    expect(events.dropped).toEqual([11]); // actual: [3, 3, 11]
    sink.full = false;
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'bbb', 'ccc']); // actual: ['a']
  });
});

describe('StreamOutput: close()', () => {
  it('discards the queue and ignores later sends', async () => {
    const { sink, events, output } = setup('wait', 100);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 2));
    output.send(chunk('c', 3));
    output.close();
    output.close(); // idempotent
    sink.full = false;
    sink.release();
    await tick();
    output.send(chunk('d', 4));
    expect(sink.text).toEqual(['a']);
    expect(events.written).toEqual([1]);
    expect(events.dropped).toEqual([]);
    expect(events.overflowed).toBe(0);
  });
});

describe('StreamOutput: accounting', () => {
  it('reports every handed-over byte as written, and no dropped one', async () => {
    const { sink, events, output } = setup('drop-oldest', 8);
    output.send(chunk('a', 5)); // direct
    sink.full = true;
    output.send(chunk('b', 2)); // direct, now pending
    output.send(chunk('c', 4)); // queued
    output.send(chunk('d', 4)); // queued (8)
    output.send(chunk('e', 3)); // drops c
    sink.full = false;
    sink.release();
    await tick();
    output.send(chunk('f', 6)); // direct again
    expect(sink.text).toEqual(['aaaaa', 'bb', 'dddd', 'eee', 'ffffff']);
    expect(events.written).toEqual([5, 2, 4, 3, 6]);
    expect(sum(events.written)).toBe(sum(sink.chunks.map((c) => c.byteLength)));
    expect(events.dropped).toEqual([4]);
  });

  it('updates lastWriteAt when bytes are handed over, not when they are queued', async () => {
    const before = elapsedMs();
    const { sink, output } = setup('wait', 100);
    expect(output.lastWriteAt).toBeGreaterThanOrEqual(before);
    expect(output.lastWriteAt).toBeLessThanOrEqual(elapsedMs());
    const opened = output.lastWriteAt;

    await sleep(25);
    sink.full = true;
    const beforeWrite = elapsedMs();
    output.send(chunk('a', 1));
    expect(output.lastWriteAt).toBeGreaterThanOrEqual(beforeWrite);
    expect(output.lastWriteAt).toBeGreaterThan(opened);
    const firstWrite = output.lastWriteAt;

    await sleep(25);
    output.send(chunk('b', 1)); // queued only
    expect(output.lastWriteAt).toBe(firstWrite);

    await sleep(25);
    const beforeDrain = elapsedMs();
    sink.full = false;
    sink.release();
    await tick();
    expect(sink.text).toEqual(['a', 'b']);
    expect(output.lastWriteAt).toBeGreaterThanOrEqual(beforeDrain);
    expect(output.lastWriteAt).toBeGreaterThan(firstWrite);
  });

  it('keeps lastWriteAt as a small integer (held in the object, not boxed)', () => {
    const { output } = setup('wait');
    expect(Number.isInteger(output.lastWriteAt)).toBe(true);
    expect(output.lastWriteAt).toBeLessThan(2 ** 30);
  });

  it('gives every write of one fan-out the same clock reading, and reads the clock again after it', async () => {
    const streams = [setup('wait'), setup('wait'), setup('wait')];
    const busyUntil = (ms: number) => {
      const start = elapsedMs();
      while (msBetween(start, elapsedMs()) < ms) {}
    };
    const before = elapsedMs();
    withOneClockReading((all) => {
      all[0]!.output.send(chunk('a', 1));
      busyUntil(5);
      // Nested: the outer reading holds.
      withOneClockReading((one) => one.output.send(chunk('b', 1)), all[1]!);
      busyUntil(5);
      all[2]!.output.send(chunk('c', 1));
    }, streams);
    const shared = streams[0]!.output.lastWriteAt;
    expect(shared).toBeGreaterThanOrEqual(before);
    expect(streams.map((s) => s.output.lastWriteAt)).toEqual([shared, shared, shared]);
    expect(msBetween(shared, elapsedMs())).toBeGreaterThanOrEqual(10);

    const after = elapsedMs();
    streams[0]!.output.send(chunk('d', 1));
    expect(streams[0]!.output.lastWriteAt).toBeGreaterThanOrEqual(after);
    // A write that throws leaves the clock read per write again.
    expect(() =>
      withOneClockReading(() => {
        throw new Error('boom');
      }, undefined),
    ).toThrow('boom');
    await sleep(5);
    const later = elapsedMs();
    streams[1]!.output.send(chunk('e', 1));
    expect(streams[1]!.output.lastWriteAt).toBeGreaterThanOrEqual(later);
  });

  it("measures idle time across the clock's 32-bit wrap", () => {
    const beforeWrap = 2 ** 31 - 10; // as `(ms | 0)` gives it, 10 ms before it wraps
    const afterWrap = (2 ** 31 + 15) | 0; // 15 ms after: negative
    expect(afterWrap).toBeLessThan(0);
    expect(msBetween(beforeWrap, afterWrap)).toBe(25);
    expect(msBetween(5, 30)).toBe(25);
  });

  it('holds no backlog once the client has caught up', async () => {
    const { sink, output } = setup('wait', 100);
    sink.full = true;
    output.send(chunk('a', 1));
    output.send(chunk('b', 1));
    expect(output.backpressured).toBe(true);
    const writable = output.whenWritable();
    sink.full = false;
    sink.release();
    await writable;
    expect(output.backpressured).toBe(false);
    expect(output.whenWritable()).toBeUndefined();
    expect(sink.text).toEqual(['a', 'b']);
  });
});
