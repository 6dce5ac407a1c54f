import { describe, expect, it, vi } from 'vitest';
import { createRequestView, createSseEngine } from '../src/adapter.js';
import { PUSH_SOURCE, type PushDelivery, type PushUnsubscribe } from '../src/engine/push-source.js';
import {
  type CloseReason,
  createChannel,
  createMemoryStore,
  type SseEngine,
  type SseOptions,
  type StreamContext,
} from '../src/index.js';
import { createNodeResponseSink, type NodeResponseLike } from '../src/node.js';
import { MemorySink } from './support/memory-sink.js';
import { tick, waitFor } from './support/util.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Listener = () => void;

/** Enough of a node:http ServerResponse: records writes, emits `close` when the client leaves. */
class FakeResponse implements NodeResponseLike {
  readonly written: Uint8Array[] = [];
  private listeners: Array<{ event: string; listener: Listener; once: boolean }> = [];
  status: number | undefined;
  destroyed = false;
  writableEnded = false;

  writeHead(status: number): this {
    this.status = status;
    return this;
  }

  write(chunk: Uint8Array): boolean {
    this.written.push(chunk);
    return true;
  }

  end(): this {
    this.writableEnded = true;
    return this;
  }

  on(event: string, listener: Listener): this {
    this.listeners.push({ event, listener, once: false });
    return this;
  }

  once(event: string, listener: Listener): this {
    this.listeners.push({ event, listener, once: true });
    return this;
  }

  off(event: string, listener: Listener): this {
    const i = this.listeners.findIndex((l) => l.event === event && l.listener === listener);
    if (i !== -1) this.listeners.splice(i, 1);
    return this;
  }

  emit(event: string): void {
    const called = this.listeners.filter((l) => l.event === event);
    this.listeners = this.listeners.filter((l) => !(l.event === event && l.once));
    for (const { listener } of called) listener();
  }

  /** The client goes away. */
  leave(): void {
    this.destroyed = true;
    this.emit('close');
  }

  get text(): string {
    return this.written.map((c) => decoder.decode(c)).join('');
  }
}

function open(engine: SseEngine, sink = new MemorySink()) {
  const req = engine.match(createRequestView({ method: 'GET', url: '/events', headers: {} }));
  if (!req) throw new Error('the request did not match');
  return { sink, done: engine.serve(req, sink) };
}

const base: SseOptions = { requestMatcher: () => true, heartbeat: 0 };

describe('createNodeResponseSink', () => {
  it('aborts its signal when the response closes, whether read before or after', () => {
    const early = new FakeResponse();
    const earlySink = createNodeResponseSink(early);
    const signal = earlySink.signal;
    expect(signal.aborted).toBe(false);
    early.leave();
    expect(signal.aborted).toBe(true);
    expect(earlySink.signal).toBe(signal);

    const late = new FakeResponse();
    const lateSink = createNodeResponseSink(late);
    late.leave();
    expect(lateSink.signal.aborted).toBe(true);
  });

  it('starts aborted over a response already destroyed, and writes nothing to it', () => {
    const res = new FakeResponse();
    res.destroyed = true;
    const sink = createNodeResponseSink(res);
    expect(sink.signal.aborted).toBe(true);
    expect(sink.write(encoder.encode('data: x\n\n'))).toBeUndefined();
    expect(res.written).toEqual([]);
  });

  it('ignores a second close event', () => {
    const res = new FakeResponse();
    const sink = createNodeResponseSink(res);
    const onAbort = vi.fn();
    sink.signal.addEventListener('abort', onAbort);
    res.leave();
    res.emit('close');
    expect(onAbort).toHaveBeenCalledTimes(1);
  });

  it('hands Node the very bytes written, shared chunk or not', () => {
    const a = new FakeResponse();
    const b = new FakeResponse();
    const sinkA = createNodeResponseSink(a);
    const sinkB = createNodeResponseSink(b);
    const shared = encoder.encode('data: shared\n\n');
    const pooled = new Uint8Array(64);
    pooled.set(encoder.encode('data: inside a larger buffer\n\n'), 8);
    const view = pooled.subarray(8, 8 + 'data: inside a larger buffer\n\n'.length);
    for (const chunk of [shared, view, shared]) {
      sinkA.write(chunk);
      sinkB.write(chunk);
    }
    const expected = 'data: shared\n\ndata: inside a larger buffer\n\ndata: shared\n\n';
    expect(a.text).toBe(expected);
    expect(b.text).toBe(expected);
  });

  it('ends a stream on close with reason client, and unsubscribes it from its channel', async () => {
    const channel = createChannel({ store: createMemoryStore({ epoch: 'e' }) });
    const closed: CloseReason[] = [];
    const engine = createSseEngine({
      ...base,
      source: channel.source(),
      hooks: { closed: (_req, reason) => closed.push(reason) },
    });
    const res = new FakeResponse();
    const { done } = open(engine, createNodeResponseSink(res) as MemorySink);
    await tick();
    expect(channel.stats().subscribers).toBe(1);
    await channel.publish('message', 'one');
    res.leave();
    await done;
    expect(res.text).toBe('id: e.1\ndata: one\n\n');
    expect(res.writableEnded).toBe(false); // a closed response is not ended again
    expect(closed).toEqual(['client']);
    expect(engine.stats().open).toBe(0);
    expect(engine.connections.active).toBe(0);
    expect(channel.stats().subscribers).toBe(0);
  });
});

describe('createNodeResponseSink over node:http2', () => {
  it("ends the stream and frees its slot on the h2 stream's aborted, which can come without close", async () => {
    // node:http2 ends but never closes a stream the client resets while a write is pending.
    const h2Stream = new FakeResponse();
    const res = Object.assign(new FakeResponse(), { stream: h2Stream });
    const engine = createSseEngine({ ...base, maxConnections: 1, chunkGenerator: () => undefined });
    const { done } = open(engine, createNodeResponseSink(res) as MemorySink);
    expect(engine.connections.active).toBe(1);
    h2Stream.emit('aborted');
    await done;
    expect(engine.connections.active).toBe(0);
    expect(engine.stats().open).toBe(0);
  });
});

describe('push sources: the stream context', () => {
  it("aborts a channel stream's ctx.signal when the stream ends", async () => {
    const channel = createChannel();
    const contexts: StreamContext[] = [];
    const engine = createSseEngine({
      ...base,
      source: channel.source((_req, ctx) => {
        contexts.push(ctx);
        return {};
      }),
    });
    const first = open(engine);
    const second = open(engine);
    const [ctxA, ctxB] = contexts;
    const signalA = ctxA!.signal; // read while open
    expect(signalA.aborted).toBe(false);
    first.sink.disconnect();
    await first.done;
    expect(signalA.aborted).toBe(true);
    await engine.close({ event: null, retry: 0 });
    await second.done;
    expect(ctxB!.signal.aborted).toBe(true); // read only after the end
    expect(ctxA!.lastEventId).toBeUndefined();
  });

  it('keeps the signal, lastEventId and spread of a context as plain values', async () => {
    const channel = createChannel();
    let seen: StreamContext | undefined;
    const engine = createSseEngine({
      ...base,
      source: channel.source((_req, ctx) => {
        seen = ctx;
        return {};
      }),
    });
    const req = engine.match(
      createRequestView({ method: 'GET', url: '/events', headers: { 'last-event-id': '7' } }),
    );
    const sink = new MemorySink();
    const done = engine.serve(req!, sink);
    expect({ ...seen }).toEqual({ signal: expect.any(AbortSignal), lastEventId: '7' });
    sink.disconnect();
    await done;
  });
});

describe('push sources: subscription lifecycle', () => {
  /** A push source whose subscription settles when the test says so. */
  function deferredSource() {
    const unsubscribe = vi.fn();
    const deliveries: PushDelivery[] = [];
    let settle:
      | { resolve: (stop: PushUnsubscribe) => void; reject: (e: unknown) => void }
      | undefined;
    const source = () => ({
      [PUSH_SOURCE]: (delivery: PushDelivery) => {
        deliveries.push(delivery);
        return new Promise<PushUnsubscribe>((resolve, reject) => {
          settle = { resolve, reject };
        });
      },
    });
    return {
      source: source as unknown as SseOptions['source'],
      unsubscribe,
      deliveries,
      resolve: () => settle!.resolve({ unsubscribe }),
      reject: (error: unknown) => settle!.reject(error),
    };
  }

  it('ends at once when the client leaves mid-subscribe, and unsubscribes once it settles', async () => {
    const push = deferredSource();
    const engine = createSseEngine({ ...base, source: push.source });
    const { sink, done } = open(engine);
    await tick();
    sink.disconnect();
    await done;
    expect(push.deliveries[0]!.aborted).toBe(true);
    expect(push.deliveries[0]!.signal.aborted).toBe(true);
    expect(push.unsubscribe).not.toHaveBeenCalled();
    push.resolve();
    await waitFor(() => push.unsubscribe.mock.calls.length === 1, 'the late unsubscribe');
    await tick();
    expect(push.unsubscribe).toHaveBeenCalledTimes(1);
  });

  it('unsubscribes exactly once when a subscribed stream stops', async () => {
    const push = deferredSource();
    const engine = createSseEngine({ ...base, source: push.source });
    const { sink, done } = open(engine);
    push.resolve();
    await tick();
    const delivery = push.deliveries[0]!;
    expect(delivery.aborted).toBe(false);
    delivery.send(encoder.encode('data: live\n\n'));
    sink.disconnect();
    await done;
    expect(delivery.aborted).toBe(true);
    expect(push.unsubscribe).toHaveBeenCalledTimes(1);
    expect(sink.chunks).toEqual(['data: live\n\n']);
    expect(sink.closed).toBe(true);
  });

  it('reports a subscription that fails, sends the error event, and closes with reason error', async () => {
    const push = deferredSource();
    const onError = vi.fn();
    const closed: CloseReason[] = [];
    const engine = createSseEngine({
      ...base,
      source: push.source,
      onError,
      hooks: { closed: (_req, reason) => closed.push(reason) },
    });
    const { sink, done } = open(engine);
    const failure = new Error('store down');
    push.reject(failure);
    await done;
    expect(onError).toHaveBeenCalledWith(failure, expect.anything());
    expect(sink.chunks).toEqual(['event: error\ndata: Error - (Error) store down\n\n']);
    expect(closed).toEqual(['error']);
    expect(engine.connections.active).toBe(0);
  });

  it('says nothing of a subscription that fails after the client left', async () => {
    const push = deferredSource();
    const onError = vi.fn();
    const engine = createSseEngine({ ...base, source: push.source, onError });
    const { sink, done } = open(engine);
    sink.disconnect();
    await done;
    push.reject(new Error('too late'));
    await tick();
    expect(onError).not.toHaveBeenCalled();
    expect(sink.chunks).toEqual([]);
  });

  it('ignores an unsubscribe that throws', async () => {
    const engine = createSseEngine({
      ...base,
      source: (() => ({
        [PUSH_SOURCE]: () => ({
          unsubscribe() {
            throw new Error('unsubscribe failed');
          },
        }),
      })) as unknown as SseOptions['source'],
    });
    const { sink, done } = open(engine);
    await tick();
    sink.disconnect();
    await expect(done).resolves.toBeUndefined();
    expect(engine.stats().open).toBe(0);
  });
});

describe('engine.start: serve() without waiting for the end', () => {
  const matched = (engine: SseEngine) =>
    engine.match(createRequestView({ method: 'GET', url: '/events', headers: {} }))!;

  it('streams as serve() does, and engine.close() still waits for the stream', async () => {
    const channel = createChannel();
    const engine = createSseEngine({ ...base, source: channel.source() });
    const sink = new MemorySink();
    expect(engine.start(matched(engine), sink)).toBeUndefined();
    expect(sink.status).toBe(200);
    await channel.publish('message', 'hello');
    expect(sink.text).toContain('data: hello\n\n');
    expect(engine.stats().open).toBe(1);
    await engine.close({ event: null, timeout: 1000 });
    expect(sink.closed).toBe(true);
    expect(engine.stats().open).toBe(0);
  });

  it('refuses past maxConnections with a 503, as serve() does', () => {
    const engine = createSseEngine({
      ...base,
      maxConnections: 1,
      source: createChannel().source(),
    });
    engine.start(matched(engine), new MemorySink());
    const refused = new MemorySink();
    engine.start(matched(engine), refused);
    expect(refused.status).toBe(503);
    expect(refused.closed).toBe(true);
  });

  it('a sink whose close() throws: the stream is still counted closed, and nothing is left unhandled', async () => {
    // An unhandled rejection fails the run: vitest reports it as an error of this file.
    const engine = createSseEngine({ ...base, source: createChannel().source() });
    const sink = new MemorySink();
    sink.close = () => {
      sink.closeCount += 1;
      throw new Error('close failed');
    };
    engine.start(matched(engine), sink);
    sink.disconnect();
    await waitFor(() => engine.stats().open === 0, 'the stream to be counted closed');
    expect(sink.closeCount).toBe(1);
    expect(engine.stats().closed).toBe(1);
    await tick();
  });
});
