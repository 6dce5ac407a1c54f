import { describe, expect, it, vi } from 'vitest';
import {
  createRequestView,
  createSseEngine,
  encodeChunk,
  type HeaderSource,
  type SseSink,
} from '../src/adapter.js';
import {
  type Chunk,
  type ChunkGenerator,
  DEFAULT_INTERVAL_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_SSE_HEADERS,
  defaultErrorEvent,
  type InnerResponse,
  type SseEncodeError,
  type SseOptions,
  type SseRequest,
  type StreamContext,
} from '../src/index.js';
import { MemorySink, type WriteHook } from './support/memory-sink.js';
import { sleep, thrown, tick } from './support/util.js';

const decoder = new TextDecoder();

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream;charset=UTF-8',
  'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate, no-transform',
  Pragma: 'no-cache',
  'X-Accel-Buffering': 'no',
};

/** A write hook that disconnects the client once `n` chunks were written. */
const disconnectAfter =
  (n: number): WriteHook =>
  (_text, sink) => {
    if (sink.chunks.length >= n) sink.disconnect();
    return undefined;
  };

function request(url = '/?stream=true', headers: HeaderSource = {}): SseRequest {
  return createRequestView({ method: 'GET', url, headers });
}

/** A generator promise that never settles. */
const hang = (): Promise<Chunk> => new Promise<Chunk>(() => {});

describe('response head', () => {
  it('sends status 200 and exactly the default SSE headers, before any body', async () => {
    const engine = createSseEngine({ chunkGenerator: () => 'data: x\n', onError: vi.fn() });
    const sink = new MemorySink(disconnectAfter(1));
    await engine.serve(request(), sink);
    expect(sink.status).toBe(200);
    expect(sink.headers).toEqual(SSE_HEADERS);
    expect(sink.calls).toEqual(['head', 'write', 'close']);
    expect(sink.chunks).toEqual(['data: x\n\n']);
  });

  it('exports the same defaults, frozen', () => {
    expect(DEFAULT_SSE_HEADERS).toEqual(SSE_HEADERS);
    expect(Object.isFrozen(DEFAULT_SSE_HEADERS)).toBe(true);
    expect(DEFAULT_MAX_CONNECTIONS).toBe(10);
    expect(DEFAULT_INTERVAL_MS).toBe(1000);
  });

  it('merges the headers option case-insensitively; null removes a default', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => 'x',
      onError: vi.fn(),
      headers: {
        'cache-control': 'no-cache',
        'Access-Control-Allow-Origin': '*',
        'x-accel-buffering': null,
        PRAGMA: null,
      },
    });
    const sink = new MemorySink(disconnectAfter(1));
    await engine.serve(request(), sink);
    expect(sink.headers).toEqual({
      'Content-Type': 'text/event-stream;charset=UTF-8',
      'cache-control': 'no-cache',
      'Access-Control-Allow-Origin': '*',
    });
  });

  it('lets emptyResponse replace the status and every header', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => 'x',
      onError: vi.fn(),
      emptyResponse: { status: 201, headers: { 'Content-Type': 'text/event-stream', 'X-A': '1' } },
    });
    const sink = new MemorySink(disconnectAfter(1));
    await engine.serve(request(), sink);
    expect(sink.status).toBe(201);
    expect(sink.headers).toEqual({ 'Content-Type': 'text/event-stream', 'X-A': '1' });
  });

  it('uses status 200 when emptyResponse has none, and merges headers on top of it', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => 'x',
      onError: vi.fn(),
      emptyResponse: { headers: { 'Content-Type': 'text/event-stream', 'X-A': '1' } },
      headers: { 'x-a': '2', 'X-B': '3' },
    });
    const sink = new MemorySink(disconnectAfter(1));
    await engine.serve(request(), sink);
    expect(sink.status).toBe(200);
    expect(sink.headers).toEqual({ 'Content-Type': 'text/event-stream', 'x-a': '2', 'X-B': '3' });
  });

  it.each<[string, SseOptions, string]>([
    ['LF in a value', { headers: { 'X-Test': 'a\nb' } }, 'options.headers["X-Test"]'],
    ['CR in a value', { headers: { 'X-Test': 'a\rb' } }, 'options.headers["X-Test"]'],
    [
      'CRLF in a value',
      { headers: { 'X-Test': 'a\r\nSet-Cookie: x' } },
      'options.headers["X-Test"]',
    ],
    ['Connection', { headers: { Connection: 'keep-alive' } }, 'options.headers["Connection"]'],
    [
      'Transfer-Encoding',
      { headers: { 'transfer-encoding': 'chunked' } },
      'options.headers["transfer-encoding"]',
    ],
    ['Keep-Alive', { headers: { 'Keep-Alive': 'timeout=5' } }, 'options.headers["Keep-Alive"]'],
    [
      'Transfer-Encoding in emptyResponse',
      { emptyResponse: { headers: { 'Transfer-Encoding': 'chunked' } } },
      'options.emptyResponse.headers["Transfer-Encoding"]',
    ],
    [
      'LF in an emptyResponse value',
      { emptyResponse: { headers: { 'X-A': 'x\ny' } } },
      'options.emptyResponse.headers["X-A"]',
    ],
    ['an invalid name', { headers: { 'Bad Name': 'x' } }, 'options.headers key'],
    ['a non-string value', { headers: { 'X-N': 5 as never } }, 'options.headers["X-N"]'],
  ])('rejects %s with a TypeError', (_, options, name) => {
    const error = thrown(() => createSseEngine({ chunkGenerator: () => 'x', ...options }));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain(name);
  });
});

describe('connection limit', () => {
  const BUSY_BODY =
    '503 Service Unavailable.\n\nNo available streaming connection. Maximum connection limit is: 2';

  it('shows its slots read-only: nothing outside the engine can take one', () => {
    const engine = createSseEngine({ chunkGenerator: () => 'x', maxConnections: 2 });
    expect(Object.keys(engine.connections).sort()).toEqual(['active', 'max']);
    expect('tryAcquire' in engine.connections).toBe(false);
    // @ts-expect-error: nor does its type have a way to take one
    expect(engine.connections.tryAcquire).toBeUndefined();
    expect(Object.isFrozen(engine.connections)).toBe(true);
    expect(engine.connections).toMatchObject({ active: 0, max: 2 });
    expect(createSseEngine({ chunkGenerator: () => 'x', maxConnections: 0 }).connections.max).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('answers 503 at max+1, and frees slots at disconnect', async () => {
    const generator = vi.fn(hang);
    const engine = createSseEngine({ chunkGenerator: generator, maxConnections: 2 });
    const a = new MemorySink();
    const b = new MemorySink();
    const servedA = engine.serve(request(), a);
    const servedB = engine.serve(request(), b);
    expect(engine.connections.active).toBe(2);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);

    const busy = new MemorySink();
    await engine.serve(request(), busy);
    expect(busy.status).toBe(503);
    expect(busy.text).toBe(BUSY_BODY);
    expect(busy.headers).toEqual({
      'Content-Type': 'text/plain',
      'Content-Length': String(BUSY_BODY.length),
      'Retry-After': '5',
    });
    expect(busy.calls).toEqual(['head', 'write', 'close']);
    // The 503 neither takes a slot nor calls the generator.
    expect(engine.connections.active).toBe(2);
    expect(generator).toHaveBeenCalledTimes(2);

    a.disconnect();
    expect(engine.connections.active).toBe(1);
    const c = new MemorySink();
    const servedC = engine.serve(request(), c);
    expect(c.status).toBe(200);
    expect(engine.connections.active).toBe(2);

    b.disconnect();
    c.disconnect();
    await Promise.all([servedA, servedB, servedC]);
    expect(engine.connections.active).toBe(0);
    expect([a.closed, b.closed, c.closed]).toEqual([true, true, true]);
  });

  it('sends the retryAfter option as Retry-After', async () => {
    const engine = createSseEngine({ chunkGenerator: hang, maxConnections: 1, retryAfter: 30 });
    const first = new MemorySink();
    const served = engine.serve(request(), first);
    const busy = new MemorySink();
    await engine.serve(request(), busy);
    expect(busy.status).toBe(503);
    expect(busy.headers?.['Retry-After']).toBe('30');
    expect(busy.text.endsWith('Maximum connection limit is: 1')).toBe(true);
    first.disconnect();
    await served;
  });

  it('allows 10 connections by default', async () => {
    const engine = createSseEngine({ chunkGenerator: hang });
    const sinks = Array.from({ length: 10 }, () => new MemorySink());
    const served = sinks.map((sink) => engine.serve(request(), sink));
    expect(sinks.every((sink) => sink.status === 200)).toBe(true);
    const busy = new MemorySink();
    await engine.serve(request(), busy);
    expect(busy.status).toBe(503);
    expect(busy.text.endsWith('Maximum connection limit is: 10')).toBe(true);
    for (const sink of sinks) sink.disconnect();
    await Promise.all(served);
    expect(engine.connections.active).toBe(0);
  });

  it('is unlimited with maxConnections 0', async () => {
    const engine = createSseEngine({ chunkGenerator: hang, maxConnections: 0 });
    const sinks = Array.from({ length: 50 }, () => new MemorySink());
    const served = sinks.map((sink) => engine.serve(request(), sink));
    expect(sinks.every((sink) => sink.status === 200)).toBe(true);
    expect(engine.connections.active).toBe(50);
    for (const sink of sinks) sink.disconnect();
    await Promise.all(served);
    expect(engine.connections.active).toBe(0);
  });

  it('frees the slot the moment the sink signal aborts', async () => {
    const engine = createSseEngine({ chunkGenerator: hang, maxConnections: 1 });
    const sink = new MemorySink();
    const served = engine.serve(request(), sink);
    expect(engine.connections.active).toBe(1);
    sink.disconnect();
    // Synchronously, before the stream loop has had a chance to notice.
    expect(engine.connections.active).toBe(0);
    const next = new MemorySink();
    const servedNext = engine.serve(request(), next);
    expect(next.status).toBe(200);
    next.disconnect();
    await Promise.all([served, servedNext]);
    expect(sink.closed).toBe(true);
  });

  it('handles a sink that is already aborted', async () => {
    const generator = vi.fn(() => 'x');
    const engine = createSseEngine({ chunkGenerator: generator, maxConnections: 1 });
    const sink = new MemorySink();
    sink.disconnect();
    await engine.serve(request(), sink);
    expect(generator).not.toHaveBeenCalled();
    expect(sink.chunks).toEqual([]);
    expect(sink.closed).toBe(true);
    expect(engine.connections.active).toBe(0);
  });
});

describe('chunk generator', () => {
  it('passes the matching request and a per-connection context', async () => {
    const seen: Array<[SseRequest, StreamContext]> = [];
    const engine = createSseEngine({
      chunkGenerator: (req, ctx) => {
        seen.push([req, ctx]);
        return 'x';
      },
    });
    const req = request('/feed?stream=true');
    const sink = new MemorySink(disconnectAfter(2));
    await engine.serve(req, sink);
    expect(seen).toHaveLength(2);
    expect(seen[0]?.[0]).toBe(req);
    expect(seen[1]?.[1]).toBe(seen[0]?.[1]);
    expect(seen[0]?.[1].signal.aborted).toBe(true);
  });

  it('calls the generator no more after the client disconnects', async () => {
    const generator = vi.fn(async () => {
      await sleep(5);
      return 'data: x\n';
    });
    const engine = createSseEngine({ chunkGenerator: generator });
    const sink = new MemorySink(disconnectAfter(1));
    await engine.serve(request(), sink);
    await sleep(50);
    expect(generator).toHaveBeenCalledTimes(1);
    expect(sink.chunks).toEqual(['data: x\n\n']);
    expect(sink.writesAfterClose).toBe(0);
  });

  it('writes nothing when the client disconnects while a chunk is being produced', async () => {
    const generator = vi.fn(async () => {
      await sleep(40);
      return 'late';
    });
    const engine = createSseEngine({ chunkGenerator: generator });
    const sink = new MemorySink();
    const served = engine.serve(request(), sink);
    await sleep(10);
    sink.disconnect();
    await served;
    await sleep(60);
    expect(generator).toHaveBeenCalledTimes(1);
    expect(sink.chunks).toEqual([]);
  });

  it('frees the slot of a generator that hangs forever at disconnect', async () => {
    let ctx: StreamContext | undefined;
    const engine = createSseEngine({
      chunkGenerator: (_req, c) => {
        ctx = c;
        return hang();
      },
      maxConnections: 1,
    });
    const sink = new MemorySink();
    const served = engine.serve(request(), sink);
    await sleep(10);
    expect(engine.connections.active).toBe(1);
    expect(ctx?.signal.aborted).toBe(false);
    sink.disconnect();
    expect(engine.connections.active).toBe(0);
    await served;
    expect(sink.closed).toBe(true);
    expect(ctx?.signal.aborted).toBe(true);
  });

  it('skips ticks that give undefined or null', async () => {
    const answers: Chunk[] = [undefined, null, undefined, 'x', null, 'y'];
    const generator = vi.fn(() => answers.shift());
    const engine = createSseEngine({ chunkGenerator: generator });
    const sink = new MemorySink(disconnectAfter(2));
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['x\n', 'y\n']);
    expect(generator).toHaveBeenCalledTimes(6);
  });

  it('appends one LF to a string chunk and writes nothing else', async () => {
    const answers = ['data: hi\n', 'hello', ': comment\n'];
    const engine = createSseEngine({ chunkGenerator: async () => answers.shift() });
    const sink = new MemorySink(disconnectAfter(3));
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['data: hi\n\n', 'hello\n', ': comment\n\n']);
  });

  it('encodes event objects', async () => {
    const answers: Chunk[] = [{ event: 'tick', id: 1, data: 'a\r\nb' }, { retry: 500 }];
    const engine = createSseEngine({ chunkGenerator: () => answers.shift() });
    const sink = new MemorySink(disconnectAfter(2));
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['event: tick\nid: 1\ndata: a\ndata: b\n\n', 'retry: 500\n\n']);
  });

  it('writes each chunk as UTF-8', async () => {
    const bytes: number[][] = [];
    const engine = createSseEngine({ chunkGenerator: () => ({ data: '€' }) });
    const sink: SseSink = new (class extends MemorySink {
      override write(chunk: Uint8Array) {
        bytes.push([...chunk]);
        this.disconnect();
        return super.write(chunk);
      }
    })();
    await engine.serve(request(), sink);
    expect(bytes).toEqual([[0x64, 0x61, 0x74, 0x61, 0x3a, 0x20, 0xe2, 0x82, 0xac, 0x0a, 0x0a]]);
  });

  it('waits for a pending write (backpressure) before calling the generator again', async () => {
    let drain: (() => void) | undefined;
    const generator = vi.fn(() => 'tick');
    const engine = createSseEngine({ chunkGenerator: generator });
    const sink = new MemorySink((_text, s) => {
      if (s.chunks.length === 1) {
        return new Promise<void>((resolve) => {
          drain = resolve;
        });
      }
      if (s.chunks.length >= 3) s.disconnect();
      return undefined;
    });
    const served = engine.serve(request(), sink);
    await sleep(50);
    expect(generator).toHaveBeenCalledTimes(1);
    expect(sink.chunks).toHaveLength(1);
    drain?.();
    await served;
    expect(generator).toHaveBeenCalledTimes(3);
    expect(sink.chunks).toEqual(['tick\n', 'tick\n', 'tick\n']);
  });

  it('does not hold the stream on a write that never drains once the client leaves', async () => {
    const engine = createSseEngine({ chunkGenerator: () => 'x', maxConnections: 1 });
    const sink = new MemorySink(() => new Promise<void>(() => {}));
    const served = engine.serve(request(), sink);
    await sleep(10);
    sink.disconnect();
    await served;
    expect(sink.closed).toBe(true);
    expect(sink.chunks).toEqual(['x\n']);
    expect(engine.connections.active).toBe(0);
  });

  it('does not starve the event loop with a sync generator that never waits', async () => {
    const LIMIT = 100_000;
    let calls = 0;
    let callsWhenTimerFired: number | undefined;
    const sink = new MemorySink();
    const engine = createSseEngine({
      chunkGenerator: () => {
        calls += 1;
        if (calls >= LIMIT) sink.disconnect(); // a safety stop if timers were starved
        return 'x';
      },
    });
    const served = engine.serve(request(), sink);
    globalThis.setTimeout(() => {
      callsWhenTimerFired = calls;
      sink.disconnect();
    }, 10);
    await served;
    expect(callsWhenTimerFired).toBeDefined();
    expect(callsWhenTimerFired).toBeGreaterThan(1);
    expect(callsWhenTimerFired).toBeLessThan(LIMIT);
  });
});

describe('errors', () => {
  it.each<[string, ChunkGenerator]>([
    [
      'throws',
      () => {
        throw new Error('boom');
      },
    ],
    [
      'rejects',
      async () => {
        throw new Error('boom');
      },
    ],
  ])(
    'a generator that %s sends an error event, closes, reports once, frees the slot',
    async (_, gen) => {
      const onError = vi.fn();
      const engine = createSseEngine({ chunkGenerator: gen, onError, maxConnections: 1 });
      const req = request();
      const sink = new MemorySink();
      await engine.serve(req, sink);
      expect(sink.text).toBe('event: error\ndata: Error - (Error) boom\n\n');
      expect(sink.calls).toEqual(['head', 'write', 'close']);
      expect(onError).toHaveBeenCalledTimes(1);
      expect(onError.mock.calls[0]![0]).toBeInstanceOf(Error);
      expect((onError.mock.calls[0]![0] as Error).message).toBe('boom');
      expect(onError.mock.calls[0]![1]).toBe(req);
      expect(engine.connections.active).toBe(0);
    },
  );

  it('ends the stream after earlier chunks were sent', async () => {
    let n = 0;
    const onError = vi.fn();
    const engine = createSseEngine({
      chunkGenerator: () => {
        n += 1;
        if (n === 3) throw new RangeError('third');
        return { data: String(n) };
      },
      onError,
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual([
      'data: 1\n\n',
      'data: 2\n\n',
      'event: error\ndata: Error - (RangeError) third\n\n',
    ]);
    expect(n).toBe(3);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('keeps a multi-line error message inside one event', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => {
        throw new Error('line 1\nline 2');
      },
      onError: vi.fn(),
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.text).toBe('event: error\ndata: Error - (Error) line 1\ndata: line 2\n\n');
  });

  it('describes a thrown non-Error by its type', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => {
        throw 'oops';
      },
      onError: vi.fn(),
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.text).toBe('event: error\ndata: Error - (string) oops\n\n');
  });

  it('treats a generator that returns a number as an error (TypeError)', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({ chunkGenerator: () => 42 as never, onError });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(TypeError);
    expect(sink.chunks).toHaveLength(1);
    expect(sink.text.startsWith('event: error\ndata: Error - (TypeError) ')).toBe(true);
    expect(sink.text).toContain('42 (number)');
    expect(sink.closed).toBe(true);
  });

  it('treats an event that cannot be encoded as an error (SseEncodeError), writing none of it', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({ chunkGenerator: () => ({ id: 'a\nb', data: 'x' }), onError });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect((onError.mock.calls[0]![0] as SseEncodeError).name).toBe('SseEncodeError');
    expect(sink.chunks).toHaveLength(1);
    expect(sink.text.startsWith('event: error\ndata: Error - (SseEncodeError) ')).toBe(true);
  });

  it('sends no error event with errorEvent: null', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({
      chunkGenerator: () => {
        throw new Error('boom');
      },
      onError,
      errorEvent: null,
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual([]);
    expect(sink.calls).toEqual(['head', 'close']);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(engine.connections.active).toBe(0);
  });

  it('sends a custom error event', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => {
        throw new Error('boom');
      },
      onError: vi.fn(),
      errorEvent: (error) => ({ event: 'failed', data: (error as Error).message, retry: 10_000 }),
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.text).toBe('event: failed\nretry: 10000\ndata: boom\n\n');
  });

  it('survives an onError that throws', async () => {
    const engine = createSseEngine({
      chunkGenerator: () => {
        throw new Error('boom');
      },
      onError: () => {
        throw new Error('reporter down');
      },
      maxConnections: 1,
    });
    const sink = new MemorySink();
    await expect(engine.serve(request(), sink)).resolves.toBeUndefined();
    expect(sink.closed).toBe(true);
    expect(engine.connections.active).toBe(0);
  });

  it('reports nothing and writes no error event for a failure after disconnect', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({
      chunkGenerator: async () => {
        await sleep(30);
        throw new Error('after disconnect');
      },
      onError,
    });
    const sink = new MemorySink();
    const served = engine.serve(request(), sink);
    await sleep(5);
    sink.disconnect();
    await served;
    await sleep(50);
    expect(onError).not.toHaveBeenCalled();
    expect(sink.chunks).toEqual([]);
    expect(sink.closed).toBe(true);
  });

  it('reports nothing for a generator that disconnects the client and then throws', async () => {
    const onError = vi.fn();
    let sinkRef: MemorySink | undefined;
    const engine = createSseEngine({
      chunkGenerator: () => {
        sinkRef?.disconnect();
        throw new Error('after disconnect');
      },
      onError,
    });
    sinkRef = new MemorySink();
    await engine.serve(request(), sinkRef);
    expect(onError).not.toHaveBeenCalled();
    expect(sinkRef.chunks).toEqual([]);
    expect(sinkRef.closed).toBe(true);
  });

  /**
   * A promise-like that records whether anyone subscribed to it, and rejects when subscribed.
   * Used to show that a rejected promise is left without a handler (an unhandled rejection,
   * which terminates a Node process by default). A real rejected promise cannot be used here:
   * vitest reports the unhandled rejection as an error of the whole run.
   */
  function rejectingThenable(): { thenable: PromiseLike<never>; subscribed: () => boolean } {
    let subscribed = false;
    const thenable: PromiseLike<never> = {
      // biome-ignore lint/suspicious/noThenProperty: a deliberate thenable
      then(_onFulfilled, onRejected) {
        subscribed = true;
        onRejected?.(new Error('late failure'));
        return thenable as never;
      },
    };
    return { thenable, subscribed: () => subscribed };
  }

  // A regression test: the abort race once returned at once when the signal was already aborted
  // and never subscribed to the promise, so a generator that disconnects the client synchronously
  // and then rejects left an unhandled rejection (it crashes a Node process).
  it('handles the rejection of a generator that aborted the stream synchronously', async () => {
    const late = rejectingThenable();
    let sinkRef: MemorySink | undefined;
    const engine = createSseEngine({
      chunkGenerator: () => {
        sinkRef?.disconnect();
        return late.thenable as unknown as Promise<Chunk>;
      },
      onError: vi.fn(),
    });
    sinkRef = new MemorySink();
    await engine.serve(request(), sinkRef);
    await tick();
    expect(late.subscribed()).toBe(true);
  });

  // Same source bug, reached through the sink: a write that fails by aborting the signal and
  // returning a rejected promise leaves that rejection unhandled.
  it('handles the rejection of a write that aborted the stream synchronously', async () => {
    const late = rejectingThenable();
    const engine = createSseEngine({ chunkGenerator: () => 'x', onError: vi.fn() });
    const sink = new MemorySink((_text, s) => {
      s.disconnect();
      return late.thenable as unknown as Promise<void>;
    });
    await engine.serve(request(), sink);
    await tick();
    expect(late.subscribed()).toBe(true);
  });

  it('defaultErrorEvent describes errors and other values', () => {
    expect(defaultErrorEvent(new TypeError('t'))).toEqual({
      event: 'error',
      data: 'Error - (TypeError) t',
    });
    expect(defaultErrorEvent(5)).toEqual({ event: 'error', data: 'Error - (number) 5' });
  });
});

describe('source', () => {
  it('writes the chunks of an async generator in order and closes when it ends', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({
      source: async function* () {
        yield 'a';
        await sleep(5);
        yield { event: 'e', data: 'b' };
        yield undefined;
        yield null;
        yield 'c';
      },
      onError,
      maxConnections: 1,
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['a\n', 'event: e\ndata: b\n\n', 'c\n']);
    expect(sink.calls.at(-1)).toBe('close');
    expect(sink.closeCount).toBeGreaterThanOrEqual(1);
    expect(onError).not.toHaveBeenCalled();
    expect(engine.connections.active).toBe(0);
  });

  it("runs the async iterator's return() (its finally block) on disconnect", async () => {
    let finalized = false;
    const engine = createSseEngine({
      source: async function* () {
        try {
          for (let i = 0; ; i += 1) {
            yield `data: ${i}\n`;
            await sleep(5);
          }
        } finally {
          finalized = true;
        }
      },
    });
    const sink = new MemorySink(disconnectAfter(2));
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['data: 0\n\n', 'data: 1\n\n']);
    await vi.waitFor(() => expect(finalized).toBe(true), { timeout: 2000, interval: 5 });
  });

  it('runs return() even when the disconnect comes while the source awaits', async () => {
    let finalized = false;
    let produced = 0;
    const engine = createSseEngine({
      source: async function* () {
        try {
          for (;;) {
            produced += 1;
            yield 'x';
            await sleep(30);
          }
        } finally {
          finalized = true;
        }
      },
    });
    const sink = new MemorySink();
    const served = engine.serve(request(), sink);
    await vi.waitFor(() => expect(sink.chunks).toHaveLength(1), { timeout: 2000, interval: 2 });
    sink.disconnect();
    await served;
    await vi.waitFor(() => expect(finalized).toBe(true), { timeout: 2000, interval: 5 });
    expect(sink.chunks).toEqual(['x\n']);
    // The source is not pulled on after return(): at most the value it was already producing.
    await sleep(80);
    expect(produced).toBeLessThanOrEqual(2);
  });

  it('writes a sync array and closes', async () => {
    const engine = createSseEngine({ source: () => ['a', null, { data: 'b' }, undefined, 'c'] });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['a\n', 'data: b\n\n', 'c\n']);
    expect(sink.closed).toBe(true);
  });

  it("runs a sync generator's finally block on disconnect", async () => {
    let finalized = false;
    const engine = createSseEngine({
      source: function* () {
        try {
          for (;;) yield 'x';
        } finally {
          finalized = true;
        }
      },
    });
    const sink = new MemorySink(disconnectAfter(3));
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['x\n', 'x\n', 'x\n']);
    await vi.waitFor(() => expect(finalized).toBe(true), { timeout: 2000, interval: 5 });
  });

  it('passes the matching request and context to the source', async () => {
    const source = vi.fn((_req: SseRequest, _ctx: StreamContext) => ['x']);
    const engine = createSseEngine({ source });
    const req = request('/s?stream=true', { 'last-event-id': '9' });
    await engine.serve(req, new MemorySink());
    expect(source).toHaveBeenCalledTimes(1);
    expect(source.mock.calls[0]![0]).toBe(req);
    expect(source.mock.calls[0]![1].lastEventId).toBe('9');
  });

  it('sends the error event when the source throws', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({
      source: async function* () {
        yield 'a';
        throw new Error('source boom');
      },
      onError,
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.text).toBe('a\nevent: error\ndata: Error - (Error) source boom\n\n');
    expect(onError).toHaveBeenCalledTimes(1);
    expect(sink.closed).toBe(true);
  });

  it('sends the error event when the source yields a chunk that cannot be encoded', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({
      source: async function* () {
        yield 'a';
        yield 5 as never;
        yield 'c';
      },
      onError,
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.chunks).toHaveLength(2);
    expect(sink.chunks[1]?.startsWith('event: error\ndata: Error - (TypeError) ')).toBe(true);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  // A regression test: when a chunk could not be written (bad chunk, or sink.write throws), the
  // iterable pump (pumpIterable) once marked the iterator finished and never called return(), so
  // the source's cleanup never ran.
  it("runs the source's finally block when one of its chunks cannot be encoded", async () => {
    let finalized = false;
    const engine = createSseEngine({
      source: async function* () {
        try {
          yield 'a';
          yield 5 as never;
          yield 'c';
        } finally {
          finalized = true;
        }
      },
      onError: vi.fn(),
    });
    await engine.serve(request(), new MemorySink());
    await sleep(30);
    expect(finalized).toBe(true);
  });

  it('reports a source that returns something not iterable', async () => {
    const onError = vi.fn();
    const engine = createSseEngine({ source: () => 5 as never, onError });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(onError.mock.calls[0]![0]).toBeInstanceOf(TypeError);
    expect((onError.mock.calls[0]![0] as Error).message).toContain('options.source');
    expect(sink.closed).toBe(true);
  });

  it('does not starve the event loop with an endless sync source', async () => {
    const LIMIT = 100_000;
    let pulled = 0;
    let pulledWhenTimerFired: number | undefined;
    const sink = new MemorySink();
    const engine = createSseEngine({
      source: function* () {
        for (;;) {
          pulled += 1;
          if (pulled >= LIMIT) sink.disconnect();
          yield 'x';
        }
      },
    });
    const served = engine.serve(request(), sink);
    globalThis.setTimeout(() => {
      pulledWhenTimerFired = pulled;
      sink.disconnect();
    }, 10);
    await served;
    expect(pulledWhenTimerFired).toBeGreaterThan(1);
    expect(pulledWhenTimerFired).toBeLessThan(LIMIT);
  });
});

describe('default chunk generator (inner handler)', () => {
  it('polls the inner handler: first event at once, the next one a second later', async () => {
    let n = 0;
    const inner = vi.fn(
      async (_req: SseRequest, _ctx: StreamContext): Promise<InnerResponse> => ({
        status: 200,
        body: `tick ${++n}`,
      }),
    );
    const times: number[] = [];
    const engine = createSseEngine({}, { innerHandler: inner });
    const sink = new MemorySink((_text, s) => {
      times.push(performance.now());
      if (s.chunks.length >= 2) s.disconnect();
      return undefined;
    });
    const req = request('/feed?stream=true');
    const served = engine.serve(req, sink);
    // No timer is involved for the first event: it is written within the first macrotask.
    await tick();
    expect(inner).toHaveBeenCalledTimes(1);
    expect(sink.chunks).toEqual(['data: tick 1\n\n']);
    await served;
    expect(sink.chunks).toEqual(['data: tick 1\n\n', 'data: tick 2\n\n']);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(inner).toHaveBeenCalledTimes(2);
    expect(inner.mock.calls[0]![0]).toBe(req);
  });

  it('turns a non-2xx inner response into the error event', async () => {
    const onError = vi.fn();
    const engine = createSseEngine(
      { onError },
      { innerHandler: async () => ({ status: 404, body: 'not found' }) },
    );
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.text).toBe(
      'event: error\ndata: Error - (InnerResponseError) Cannot understand response: status 404 is not 2xx\n\n',
    );
    expect(onError).toHaveBeenCalledTimes(1);
  });

  it('sends an empty inner body as an empty data line', async () => {
    const engine = createSseEngine({}, { innerHandler: async () => ({ status: 200, body: '' }) });
    const sink = new MemorySink(disconnectAfter(1));
    await engine.serve(request(), sink);
    expect(sink.chunks).toEqual(['data: \n\n']);
  });

  it('needs an inner handler or a chunk generator', () => {
    const error = thrown(() => createSseEngine({}));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('options.chunkGenerator');
    expect(thrown(() => createSseEngine())).toBeInstanceOf(TypeError);
  });
});

describe('options validation', () => {
  const gen = () => 'x';
  it.each<[string, unknown, string[]]>([
    ['an unknown key', { chunkGenerator: gen, foo: 1 }, ['options.foo']],
    [
      'maxConnections "ten"',
      { chunkGenerator: gen, maxConnections: 'ten' },
      ['options.maxConnections', '"ten" (string)'],
    ],
    [
      'maxConnections 1.5',
      { chunkGenerator: gen, maxConnections: 1.5 },
      ['options.maxConnections', '1.5'],
    ],
    [
      'requestMatcher 5',
      { chunkGenerator: gen, requestMatcher: 5 },
      ['options.requestMatcher', '5 (number)'],
    ],
    [
      'chunkGenerator with source',
      { chunkGenerator: gen, source: () => [] },
      ['options.source', 'options.chunkGenerator'],
    ],
    [
      'retryAfter -1',
      { chunkGenerator: gen, retryAfter: -1 },
      ['options.retryAfter', '-1 (number)'],
    ],
    ['retryAfter 1.5', { chunkGenerator: gen, retryAfter: 1.5 }, ['options.retryAfter', '1.5']],
    ['onError "x"', { chunkGenerator: gen, onError: 'x' }, ['options.onError', '"x" (string)']],
    ['chunkGenerator "g"', { chunkGenerator: 'g' }, ['options.chunkGenerator', '"g" (string)']],
    ['source 1', { source: 1 }, ['options.source', '1 (number)']],
    [
      'errorEvent "e"',
      { chunkGenerator: gen, errorEvent: 'e' },
      ['options.errorEvent', '"e" (string)'],
    ],
    ['headers []', { chunkGenerator: gen, headers: [] }, ['options.headers']],
    [
      'emptyResponse.status 100',
      { chunkGenerator: gen, emptyResponse: { status: 100, headers: {} } },
      ['options.emptyResponse.status', '100'],
    ],
    [
      'emptyResponse without headers',
      { chunkGenerator: gen, emptyResponse: {} },
      ['options.emptyResponse.headers'],
    ],
    ['options null', null, ['options', 'null']],
  ])('rejects %s with a TypeError naming it', (_, options, parts) => {
    const error = thrown(() => createSseEngine(options as SseOptions));
    expect(error).toBeInstanceOf(TypeError);
    for (const part of parts) expect(error.message).toContain(part);
  });

  it('treats null like an absent option', () => {
    const engine = createSseEngine({
      chunkGenerator: gen,
      maxConnections: null as never,
      requestMatcher: null as never,
      retryAfter: null as never,
    });
    expect(engine.connections.max).toBe(10);
    expect(engine.match(request('/?stream=true'))).toBeDefined();
  });
});

describe('lastEventId', () => {
  async function lastEventIdFor(req: SseRequest): Promise<string | undefined> {
    let seen: string | undefined = 'not called';
    const engine = createSseEngine({
      chunkGenerator: (_req, ctx) => {
        seen = ctx.lastEventId;
        return 'x';
      },
    });
    await engine.serve(req, new MemorySink(disconnectAfter(1)));
    return seen;
  }

  it('comes from the Last-Event-ID header', async () => {
    expect(await lastEventIdFor(request('/?stream=true', { 'last-event-id': '42' }))).toBe('42');
    const fetchHeaders = new Headers({ 'Last-Event-ID': 'abc' });
    expect(await lastEventIdFor(request('/?stream=true', fetchHeaders))).toBe('abc');
  });

  it('comes from the lastEventId query parameter', async () => {
    expect(await lastEventIdFor(request('/?stream=true&lastEventId=7'))).toBe('7');
    expect(await lastEventIdFor(request('/?stream=true&lastEventId=a%20b'))).toBe('a b');
  });

  it('prefers the header over the query parameter', async () => {
    const req = request('/?stream=true&lastEventId=7', { 'last-event-id': '8' });
    expect(await lastEventIdFor(req)).toBe('8');
  });

  it('is undefined when the client sent none', async () => {
    expect(await lastEventIdFor(request('/?stream=true'))).toBeUndefined();
    expect(await lastEventIdFor(request('/'))).toBeUndefined();
  });
});

describe('match', () => {
  it('uses stream=true by default', () => {
    const engine = createSseEngine({ chunkGenerator: () => 'x' });
    expect(engine.match(request('/?stream=true'))).toBeDefined();
    expect(engine.match(request('/?upstream=true'))).toBeUndefined();
    expect(engine.match(request('/'))).toBeUndefined();
    expect(
      engine.match(createRequestView({ method: 'POST', url: '/?stream=true', headers: {} })),
    ).toBeUndefined();
  });

  it('returns the rewritten request of a custom matcher', () => {
    const engine = createSseEngine({
      chunkGenerator: () => 'x',
      requestMatcher: (req) => (req.path === '/a' ? { ...req, path: '/b' } : undefined),
    });
    expect(engine.match(request('/a'))?.path).toBe('/b');
    expect(engine.match(request('/c'))).toBeUndefined();
  });

  it('normalises true to the request itself', () => {
    const engine = createSseEngine({ chunkGenerator: () => 'x', requestMatcher: () => true });
    const req = request('/');
    expect(engine.match(req)).toBe(req);
  });
});

describe('encodeChunk', () => {
  it('encodes strings with a trailing LF and events spec-exactly', () => {
    expect(decoder.decode(encodeChunk('data: x\n'))).toBe('data: x\n\n');
    expect(decoder.decode(encodeChunk({ id: 3, data: '' }))).toBe('id: 3\ndata: \n\n');
  });

  it('rejects anything else with a TypeError describing it', () => {
    const error = thrown(() => encodeChunk({ data: 'x', extra: 1 } as never));
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('extra');
    expect(thrown(() => encodeChunk(7 as never)).message).toContain('7 (number)');
  });
});

describe('close(): graceful shutdown', () => {
  const ticking = (): SseOptions => ({
    maxConnections: 3,
    chunkGenerator: async (_req, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return ctx.signal.aborted ? undefined : { data: 'tick' };
    },
  });

  it('sends every open stream a final event with a jittered retry, ends it and frees its slot', async () => {
    const engine = createSseEngine(ticking());
    const sinks = [new MemorySink(), new MemorySink(), new MemorySink()];
    const served = sinks.map((sink) => engine.serve(request(), sink));
    await sleep(60);
    expect(engine.connections.active).toBe(3);
    await engine.close({ retry: 1000 });
    await Promise.all(served);
    expect(engine.connections.active).toBe(0);
    const retries = new Set<number>();
    for (const sink of sinks) {
      expect(sink.closed).toBe(true);
      const last = sink.chunks.at(-1) ?? '';
      const match = /^event: shutdown\nretry: (\d+)\ndata: \n\n$/.exec(last);
      expect(match, last).not.toBeNull();
      const retry = Number(match![1]);
      expect(retry).toBeGreaterThanOrEqual(1000);
      expect(retry).toBeLessThan(2000);
      retries.add(retry);
      expect(sink.writesAfterClose).toBe(0);
    }
    // Jitter: three draws from 1000 values are very unlikely to all be equal (p = 1e-6).
    expect(retries.size).toBeGreaterThan(1);
  });

  it('refuses new streams with a 503 once closing, and is idempotent', async () => {
    const engine = createSseEngine(ticking());
    await engine.close();
    await engine.close();
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.status).toBe(503);
    expect(sink.text).toBe('503 Service Unavailable.\n\nThe server is shutting down.');
    expect(sink.headers?.['Retry-After']).toBe('5');
    expect(engine.connections.active).toBe(0);
  });

  it('uses a custom final event, or none, and no retry with retry: 0', async () => {
    const custom = createSseEngine(ticking());
    const a = new MemorySink();
    const servedA = custom.serve(request(), a);
    await sleep(30);
    await custom.close({ event: { event: 'bye', data: 'see you' }, retry: 0 });
    await servedA;
    expect(a.chunks.at(-1)).toBe('event: bye\ndata: see you\n\n');

    const silent = createSseEngine(ticking());
    const b = new MemorySink();
    const servedB = silent.serve(request(), b);
    await sleep(30);
    await silent.close({ event: null, retry: 0 });
    await servedB;
    expect(b.chunks.every((c) => c === 'data: tick\n\n')).toBe(true);
    expect(b.closed).toBe(true);
  });

  it('does not wait past the timeout for a stream stuck in backpressure', async () => {
    const engine = createSseEngine({ source: () => [{ data: 'x' }, { data: 'y' }] });
    const sink = new MemorySink(() => new Promise<void>(() => {}));
    const served = engine.serve(request(), sink);
    await tick();
    const started = Date.now();
    await engine.close({ timeout: 100 });
    expect(Date.now() - started).toBeLessThan(2000);
    await served;
    expect(engine.connections.active).toBe(0);
  });

  it('writes nothing to a stream whose client already left', async () => {
    const engine = createSseEngine(ticking());
    const sink = new MemorySink();
    const served = engine.serve(request(), sink);
    await sleep(30);
    sink.disconnect();
    await engine.close();
    await served;
    expect(sink.chunks.some((c) => c.includes('shutdown'))).toBe(false);
  });

  it('validates its options', async () => {
    const engine = createSseEngine(ticking());
    await expect(engine.close({ retry: -1 })).rejects.toThrow(
      /close\(options\)\.retry must be a finite number >= 0, received -1/,
    );
    await expect(engine.close({ timeout: Number.NaN })).rejects.toThrow(TypeError);
    await expect(engine.close({ event: { id: 'a\nb' } })).rejects.toThrow(/id/);
  });
});
