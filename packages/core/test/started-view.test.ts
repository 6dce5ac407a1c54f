import { describe, expect, it } from 'vitest';
import { createRequestView, createSseEngine, type RequestViewInit } from '../src/adapter.js';
import {
  createChannel,
  type SseHooks,
  type SseRequest,
  uriMatch,
  uriPrefixMatch,
} from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';
import { sleep, thrown, tick, waitFor } from './support/util.js';

/** V8's `gc`, exposed at run time (the core is typed without Node's types). */
async function loadGc(): Promise<() => void> {
  const v8 = (await import('node:v8' as string)) as { setFlagsFromString(flags: string): void };
  const vm = (await import('node:vm' as string)) as { runInNewContext(code: string): unknown };
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
const gc = await loadGc();

/** The server's per-request object, as a Hono Context would be. */
interface Raw {
  readonly user: string;
}

function view(raw: Raw, extra: Partial<RequestViewInit> = {}): SseRequest {
  return createRequestView({
    method: 'GET',
    url: '/events?x=1',
    headers: { 'x-user': raw.user },
    raw,
    body: async () => new Uint8Array(),
    ...extra,
  });
}

/** Records the `raw` each hook was given, and the view the closed hook got. */
function recordingHooks() {
  const seen: Record<string, unknown[]> = { opened: [], written: [], closed: [] };
  let closedView: SseRequest | undefined;
  const hooks: SseHooks = {
    opened: (req) => seen.opened!.push(req.raw),
    written: (req) => seen.written!.push(req.raw),
    closed: (req) => {
      seen.closed!.push(req.raw);
      closedView = req;
    },
  };
  return { seen, hooks, closedView: () => closedView };
}

describe("keepRaw: 'start'", () => {
  it('gives hooks raw until the stream has started, and the view without raw and body after', async () => {
    const channel = createChannel();
    const { seen, hooks, closedView } = recordingHooks();
    const sourceSaw: unknown[] = [];
    const source = channel.source((req) => {
      sourceSaw.push(req.raw);
      return {};
    });
    const engine = createSseEngine({ source, hooks, heartbeat: 0, onError: () => {} });
    const raw = { user: 'ada' };
    const sink = new MemorySink();
    const done = engine.serve(view(raw, { keepRaw: 'start' }), sink);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscription');
    await channel.publish('message', 'hi');
    sink.disconnect();
    await done;
    expect(seen.opened).toEqual([raw]);
    expect(sourceSaw).toEqual([raw]);
    expect(seen.written).toEqual([undefined]);
    expect(seen.closed).toEqual([undefined]);
    const after = closedView()!;
    expect([after.method, after.path, after.query, after.body]).toEqual([
      'GET',
      '/events',
      'x=1',
      undefined,
    ]);
    expect(after.headers.get('X-User')).toBe('ada');
  });

  it('keeps raw for the whole stream by default', async () => {
    const channel = createChannel();
    const { seen, hooks } = recordingHooks();
    const engine = createSseEngine({ source: channel.source(), hooks, heartbeat: 0 });
    const raw = { user: 'ada' };
    const sink = new MemorySink();
    const done = engine.serve(view(raw), sink);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscription');
    sink.disconnect();
    await done;
    expect(seen.closed).toEqual([raw]);
  });

  it('releases raw through a matcher that copies the view', async () => {
    const channel = createChannel();
    const { seen, hooks } = recordingHooks();
    const engine = createSseEngine({
      requestMatcher: uriPrefixMatch('/events'),
      source: channel.source(),
      hooks,
      heartbeat: 0,
    });
    const raw = { user: 'ada' };
    const matched = engine.match(view(raw, { keepRaw: 'start' }))!;
    const sink = new MemorySink();
    const done = engine.serve(matched, sink);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscription');
    sink.disconnect();
    await done;
    expect([seen.opened, seen.closed]).toEqual([[raw], [undefined]]);
  });

  it('still hands a chunk generator the whole view on every tick', async () => {
    const given: unknown[] = [];
    const { seen, hooks } = recordingHooks();
    const sink = new MemorySink();
    const engine = createSseEngine({
      chunkGenerator: async (req) => {
        given.push(req.raw);
        if (given.length === 3) sink.disconnect();
        await sleep(1);
        return 'data: x\n';
      },
      hooks,
      heartbeat: 0,
    });
    const raw = { user: 'ada' };
    await engine.serve(view(raw, { keepRaw: 'start' }), sink);
    expect(given).toEqual([raw, raw, raw]);
    expect(seen.closed).toEqual([undefined]);
  });

  it('lets the raw object be collected while a channel stream stays open', async () => {
    const channel = createChannel();
    const engine = createSseEngine({
      requestMatcher: uriMatch('/events'),
      source: channel.source(),
      heartbeat: 0,
      maxConnections: 100,
    });
    const open = (keepRaw: RequestViewInit['keepRaw']) => {
      const raw = { user: 'ada' };
      const sink = new MemorySink();
      const done = engine.serve(engine.match(view(raw, { keepRaw }))!, sink);
      return { ref: new WeakRef(raw), sink, done };
    };
    const released = open('start');
    const kept = open('stream');
    await waitFor(() => channel.stats().subscribers === 2, 'the subscriptions');
    await tick();
    gc();
    expect(released.ref.deref()).toBeUndefined();
    expect(kept.ref.deref()).toBeDefined();
    await channel.publish('message', 'still open');
    expect(released.sink.text).toContain('data: still open');
    released.sink.disconnect();
    kept.sink.disconnect();
    await Promise.all([released.done, kept.done]);
  });

  it('refuses a raw that is no object, and an unknown keepRaw', () => {
    const base = { method: 'GET', url: '/', headers: {} };
    expect(thrown(() => createRequestView({ ...base, raw: 'ctx', keepRaw: 'start' }))).toEqual(
      expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('raw') }),
    );
    expect(
      thrown(() =>
        createRequestView({ ...base, raw: {}, keepRaw: 'forever' as RequestViewInit['keepRaw'] }),
      ),
    ).toEqual(
      expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('keepRaw') }),
    );
  });
});

describe('a stream whose end fails', () => {
  it('rejects what serve() returned with the sink’s error', async () => {
    const channel = createChannel();
    const engine = createSseEngine({ source: channel.source(), heartbeat: 0 });
    const failure = new Error('close failed');
    const sink = new MemorySink();
    sink.close = () => {
      throw failure;
    };
    const done = engine.serve(view({ user: 'ada' }), sink);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscription');
    sink.disconnect();
    await expect(done).rejects.toBe(failure);
  });
});
