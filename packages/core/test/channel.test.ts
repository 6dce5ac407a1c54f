import { describe, expect, it, vi } from 'vitest';
import {
  type Channel,
  type ChannelOptions,
  createChannel,
  createMemoryStore,
  createRequestView,
  createSseEngine,
  type EventStore,
  type HeaderSource,
  queryTokenMatch,
  REPLAY_GAP_EVENT,
  SseEncodeError,
  type SseEngine,
  type SseOptions,
  type StoredEvent,
} from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';
import { sleep, thrown, tick, waitFor } from './support/util.js';

const _decoder = new TextDecoder();

function engineFor(source: SseOptions['source'], extra: SseOptions = {}): SseEngine {
  return createSseEngine({ requestMatcher: () => true, source, heartbeat: 0, ...extra });
}

/** Opens one stream: the request goes through engine.match like an adapter does. */
function open(engine: SseEngine, headers: HeaderSource = {}, url = '/events') {
  const matched = engine.match(createRequestView({ method: 'GET', url, headers }));
  if (!matched) throw new Error('the request did not match');
  const sink = new MemorySink();
  const done = engine.serve(matched, sink);
  return { sink, done };
}

/** What one published event looks like on the wire. */
function wire(id: string | number, data: string, event?: string): string {
  return `id: ${id}\n${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n\n`;
}

const gap = (lastEventId: string, oldestRetainedId: string | null) =>
  `event: ${REPLAY_GAP_EVENT}\ndata: ${JSON.stringify({ lastEventId, oldestRetainedId })}\n\n`;

async function publishMany(channel: Channel, from: number, to: number) {
  for (let i = from; i <= to; i += 1) await channel.publish('tick', `n${i}`);
}
const ticks = (from: number, to: number) => {
  let out = '';
  for (let i = from; i <= to; i += 1) out += wire(i, `n${i}`, 'tick');
  return out;
};

/** A gate: a promise the test releases. */
function gate() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

describe('channel: fan-out', () => {
  it('delivers every event, in order, to every subscriber', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const streams = [open(engine), open(engine), open(engine)];
    await waitFor(() => channel.stats().subscribers === 3, '3 subscribers');
    await publishMany(channel, 1, 5);
    for (const { sink } of streams) {
      expect(sink.status).toBe(200);
      expect(sink.text).toBe(ticks(1, 5));
      expect(sink.raw).toHaveLength(5);
    }
    for (const { sink } of streams) sink.disconnect();
    await Promise.all(streams.map((s) => s.done));
  });

  it('encodes once: the same Uint8Array instance goes to every subscriber', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const streams = [open(engine), open(engine), open(engine)];
    await waitFor(() => channel.stats().subscribers === 3, '3 subscribers');
    await channel.publish('a', { x: 1 });
    await channel.publish('b', 'two');
    const [first, ...others] = streams.map((s) => s.sink);
    expect(first!.raw).toHaveLength(2);
    for (const other of others) {
      expect(other.raw).toHaveLength(2);
      expect(other.raw[0]).toBe(first!.raw[0]);
      expect(other.raw[1]).toBe(first!.raw[1]);
    }
    expect(first!.raw[0]).not.toBe(first!.raw[1]);
    for (const { sink } of streams) sink.disconnect();
    await Promise.all(streams.map((s) => s.done));
  });

  it('resolves publish with the id, and counts published events', async () => {
    const channel = createChannel();
    expect(channel.stats()).toEqual({ published: 0, subscribers: 0 });
    await expect(channel.publish('a', 1)).resolves.toEqual({ id: '1' });
    await expect(channel.publish('a', 2)).resolves.toEqual({ id: '2' });
    expect(channel.stats()).toEqual({ published: 2, subscribers: 0 });
  });

  it('keeps the publish order for publishes not awaited one by one', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    const results = await Promise.all([1, 2, 3, 4].map((i) => channel.publish('tick', `n${i}`)));
    expect(results).toEqual([{ id: '1' }, { id: '2' }, { id: '3' }, { id: '4' }]);
    expect(sink.text).toBe(ticks(1, 4));
    sink.disconnect();
    await done;
  });
});

describe('channel: encoding', () => {
  it("writes no event: line for the event name 'message'", async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await channel.publish('message', 'hi');
    await channel.publish('greeting', 'hello');
    expect(sink.chunks).toEqual(['id: 1\ndata: hi\n\n', 'id: 2\nevent: greeting\ndata: hello\n\n']);
    sink.disconnect();
    await done;
  });

  it('sends strings as they are and serialises anything else as JSON', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await channel.publish('message', { a: 1, b: [true, null], c: 'x' });
    await channel.publish('message', 42);
    await channel.publish('message', '{"already":"text"}');
    await channel.publish('message', 'line 1\nline 2');
    await channel.publish('message', null);
    expect(sink.chunks).toEqual([
      'id: 1\ndata: {"a":1,"b":[true,null],"c":"x"}\n\n',
      'id: 2\ndata: 42\n\n',
      'id: 3\ndata: {"already":"text"}\n\n',
      'id: 4\ndata: line 1\ndata: line 2\n\n',
      'id: 5\ndata: null\n\n',
    ]);
    sink.disconnect();
    await done;
  });

  it('uses a custom serializer for every payload, strings included', async () => {
    const serializer = vi.fn((value: unknown) => `<${typeof value}:${String(value)}>`);
    const channel = createChannel({ serializer });
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await channel.publish('message', 'text');
    await channel.publish('n', 7);
    expect(serializer).toHaveBeenCalledTimes(2);
    expect(serializer.mock.calls.map((c) => c[0])).toEqual(['text', 7]);
    expect(sink.text).toBe(wire(1, '<string:text>') + wire(2, '<number:7>', 'n'));
    sink.disconnect();
    await done;
  });
});

describe('channel: topics and filter', () => {
  it('sends a subscriber with topics its topics and events without a topic only', async () => {
    const channel = createChannel();
    const engine = engineFor(
      channel.source((req) => {
        const topics = req.headers.get('x-topics');
        return topics === null ? {} : { topics: topics === '' ? [] : topics.split(',') };
      }),
    );
    const onlyA = open(engine, { 'x-topics': 'a' });
    const aAndB = open(engine, { 'x-topics': 'a,b' });
    const none = open(engine, { 'x-topics': '' });
    const all = open(engine);
    await waitFor(() => channel.stats().subscribers === 4, '4 subscribers');
    await channel.publish('t', 'to a', { topic: 'a' });
    await channel.publish('t', 'to b', { topic: 'b' });
    await channel.publish('t', 'to everyone');
    await channel.publish('t', 'to c', { topic: 'c' });
    expect(onlyA.sink.text).toBe(wire(1, 'to a', 't') + wire(3, 'to everyone', 't'));
    expect(aAndB.sink.text).toBe(
      wire(1, 'to a', 't') + wire(2, 'to b', 't') + wire(3, 'to everyone', 't'),
    );
    expect(none.sink.text).toBe(wire(3, 'to everyone', 't'));
    expect(all.sink.text).toBe(
      wire(1, 'to a', 't') +
        wire(2, 'to b', 't') +
        wire(3, 'to everyone', 't') +
        wire(4, 'to c', 't'),
    );
    for (const s of [onlyA, aAndB, none, all]) s.sink.disconnect();
    await Promise.all([onlyA, aAndB, none, all].map((s) => s.done));
  });

  it('hands the filter id, event, the data text, the original value and topic', async () => {
    const channel = createChannel();
    const filter = vi.fn((_event: unknown) => true);
    const engine = engineFor(channel.source({ filter }));
    const { sink, done } = open(engine);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    const payload = { symbol: 'ACME', value: 42 };
    await channel.publish('price', payload, { topic: 'stocks' });
    await channel.publish('message', 'plain');
    expect(filter).toHaveBeenCalledTimes(2);
    const first = filter.mock.calls[0]![0] as Record<string, unknown>;
    expect(first).toEqual({
      id: '1',
      event: 'price',
      data: JSON.stringify(payload),
      value: payload,
      topic: 'stocks',
    });
    expect(first['value']).toBe(payload); // the value itself, as published in this process
    expect(filter.mock.calls[1]![0]).toEqual({
      id: '2',
      event: 'message',
      data: 'plain',
      value: 'plain',
      topic: undefined,
    });
    expect(sink.raw).toHaveLength(2);
    sink.disconnect();
    await done;
  });

  it('sends only the events the filter accepts; topics apply before the filter', async () => {
    const channel = createChannel<{ price: { value: number } }>();
    const filter = vi.fn(
      (e: { value: { value: number } | undefined }) => (e.value?.value ?? 0) > 1,
    );
    const engine = engineFor(channel.source({ topics: ['x'], filter }));
    const { sink, done } = open(engine);
    await channel.publish('price', { value: 1 }, { topic: 'x' });
    await channel.publish('price', { value: 2 }, { topic: 'x' });
    await channel.publish('price', { value: 3 }, { topic: 'y' });
    await channel.publish('price', { value: 4 });
    expect(sink.text).toBe(wire(2, '{"value":2}', 'price') + wire(4, '{"value":4}', 'price'));
    expect(filter).toHaveBeenCalledTimes(3); // not for the event of topic y
    sink.disconnect();
    await done;
  });

  it('one subscriber filter that throws does not keep the event from the others', async () => {
    const reported: unknown[] = [];
    const channel = createChannel({ onError: (error) => reported.push(error) });
    const engine = engineFor(
      channel.source((req) =>
        req.headers.get('x-bad') === null
          ? {}
          : {
              filter: () => {
                throw new Error('bad filter');
              },
            },
      ),
      { onError: () => {} },
    );
    const bad = open(engine, { 'x-bad': '1' });
    const good = open(engine);
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    await channel.publish('message', 'x').catch(() => {});
    expect(good.sink.text).toBe(wire(1, 'x'));
    expect(reported).toHaveLength(1);
    expect((reported[0] as Error).message).toBe('bad filter');
    bad.sink.disconnect();
    good.sink.disconnect();
    await Promise.all([bad.done, good.done]);
  });
});

describe('channel: refused events', () => {
  async function refusedScenario(
    channelOptions: ChannelOptions,
    refuse: (c: Channel) => Promise<unknown>,
  ) {
    const channel = createChannel(channelOptions);
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await channel.publish('message', 'ok');
    const before = sink.raw.length;
    const error = await refuse(channel).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(channel.stats().published).toBe(1);
    expect(sink.raw).toHaveLength(before);
    // No hole in the ids, and the store kept nothing.
    await expect(channel.publish('message', 'next')).resolves.toEqual({ id: '2' });
    expect(sink.text).toBe(wire(1, 'ok') + wire(2, 'next'));
    sink.disconnect();
    await done;
    return error;
  }

  it('rejects an event name with a line break with SseEncodeError, publishing nothing', async () => {
    const error = await refusedScenario({}, (c) => c.publish('bad\nname', 'x'));
    expect(error).toBeInstanceOf(SseEncodeError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toContain('event');
  });

  it.each(['a\rb', 'a\0b'])('rejects the event name %j', async (name) => {
    const error = await refusedScenario({}, (c) => c.publish(name, 'x'));
    expect(error).toBeInstanceOf(SseEncodeError);
  });

  it('rejects a serializer result that is not a string, publishing nothing', async () => {
    const serializer = (value: unknown) =>
      value === 'bad' ? (42 as unknown as string) : String(value);
    const error = await refusedScenario({ serializer }, (c) => c.publish('message', 'bad'));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/serializer .*string.*received 42 \(number\)/);
  });

  it('rejects a value JSON cannot serialise (undefined), publishing nothing', async () => {
    const error = await refusedScenario({}, (c) => c.publish('message', undefined));
    expect(error).toBeInstanceOf(TypeError);
  });

  it('rejects with the error of a serializer that throws, publishing nothing', async () => {
    const boom = new Error('cannot serialise');
    const serializer = (value: unknown) => {
      if (value === 'bad') throw boom;
      return String(value);
    };
    const error = await refusedScenario({ serializer }, (c) => c.publish('message', 'bad'));
    expect(error).toBe(boom);
  });

  it('rejects a topic or an event name that is not a string', async () => {
    const topicError = await refusedScenario({}, (c) =>
      c.publish('message', 'x', { topic: 5 as never }),
    );
    expect(topicError).toBeInstanceOf(TypeError);
    expect((topicError as Error).message).toContain('publish(options).topic');
    const eventError = await refusedScenario({}, (c) => c.publish(7 as never, 'x'));
    expect(eventError).toBeInstanceOf(TypeError);
    expect((eventError as Error).message).toContain('publish(event)');
  });

  it('rejects and publishes nothing when the store refuses the event', async () => {
    const inner = createMemoryStore();
    let fail = false;
    const store: EventStore = {
      append: (message, encode) => {
        if (fail) return Promise.reject(new Error('store down'));
        return inner.append(message, encode);
      },
      since: (id) => inner.since(id),
    };
    const error = await refusedScenario({ store }, (c) => {
      fail = true;
      return c.publish('message', 'x').finally(() => {
        fail = false;
      });
    });
    expect((error as Error).message).toBe('store down');
  });
});

describe('channel: replay', () => {
  it('sends a client with Last-Event-ID exactly the events after it, then live ones', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, { 'Last-Event-ID': '2' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(ticks(3, 5));
    await publishMany(channel, 6, 7);
    expect(sink.text).toBe(ticks(3, 7));
    sink.disconnect();
    await done;
  });

  it('replays the same bytes live subscribers got', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const live = open(engine);
    await publishMany(channel, 1, 3);
    const late = open(engine, { 'Last-Event-ID': '0' });
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    expect(late.sink.raw).toHaveLength(3);
    for (let i = 0; i < 3; i += 1) expect(late.sink.raw[i]).toBe(live.sink.raw[i]);
    live.sink.disconnect();
    late.sink.disconnect();
    await Promise.all([live.done, late.done]);
  });

  it('reads lastEventId from the query like the header', async () => {
    const channel = createChannel();
    const engine = createSseEngine({
      requestMatcher: queryTokenMatch('stream=true'),
      source: channel.source(),
      heartbeat: 0,
    });
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, {}, '/events?stream=true&lastEventId=3');
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    await publishMany(channel, 6, 6);
    expect(sink.text).toBe(ticks(4, 6));
    sink.disconnect();
    await done;
  });

  it('applies topics and the filter to replayed events too', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source({ topics: ['a'], filter: (e) => e.data !== 'skip' }));
    await channel.publish('t', 'old', { topic: 'a' }); // 1
    await channel.publish('t', 'a1', { topic: 'a' }); // 2
    await channel.publish('t', 'b1', { topic: 'b' }); // 3
    await channel.publish('t', 'skip'); // 4
    await channel.publish('t', 'plain'); // 5
    const { sink, done } = open(engine, { 'Last-Event-ID': '1' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(wire(2, 'a1', 't') + wire(5, 'plain', 't'));
    sink.disconnect();
    await done;
  });

  /** A store whose since() waits for the test; `snapshotFirst` reads the events before waiting. */
  function slowReplayStore(snapshotFirst: boolean) {
    const inner = createMemoryStore();
    const wait = gate();
    let sinceCalls = 0;
    const store: EventStore = {
      append: (message, encode) => inner.append(message, encode),
      async since(lastEventId) {
        sinceCalls += 1;
        const early = snapshotFirst ? await inner.since(lastEventId) : undefined;
        await wait.promise;
        return early ?? (await inner.since(lastEventId));
      },
    };
    return { store, release: wait.release, sinceCalls: () => sinceCalls };
  }

  it.each([
    ['reads the store after the live events', false],
    ['read the store before the live events', true],
  ])(
    'sends events published while the replay is read exactly once, in order (since() %s)',
    async (_, snapshotFirst) => {
      const { store, release, sinceCalls } = slowReplayStore(snapshotFirst);
      const channel = createChannel({ store });
      const engine = engineFor(channel.source());
      await publishMany(channel, 1, 5);
      const { sink, done } = open(engine, { 'Last-Event-ID': '2' });
      await waitFor(() => sinceCalls() === 1, 'the replay to start');
      await publishMany(channel, 6, 8);
      await tick();
      expect(sink.raw).toHaveLength(0); // nothing before the replay
      expect(channel.stats().subscribers).toBe(0);
      release();
      await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
      expect(sink.text).toBe(ticks(3, 8));
      await publishMany(channel, 9, 10);
      expect(sink.text).toBe(ticks(3, 10));
      sink.disconnect();
      await done;
    },
  );

  it('subscribes nobody when the client leaves during the replay', async () => {
    const { store, release, sinceCalls } = slowReplayStore(false);
    const channel = createChannel({ store });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 3);
    const { sink, done } = open(engine, { 'Last-Event-ID': '1' });
    await waitFor(() => sinceCalls() === 1, 'the replay to start');
    sink.disconnect();
    await done;
    release();
    await sleep(20);
    await publishMany(channel, 4, 4);
    expect(channel.stats().subscribers).toBe(0);
    expect(sink.raw).toHaveLength(0);
    expect(engine.stats().open).toBe(0);
  });

  // BUG (src/channel.ts, publish() + subscribe()): with an asynchronous store (Redis, say) an
  // event is visible to since() before append() resolves. A client replaying in that window gets
  // it from the replay, is subscribed, and then gets it again from the publish's fan-out.
  it('no duplicate when a replay reads an event whose asynchronous append has not resolved yet', async () => {
    const inner = createMemoryStore();
    let holdAppend: ReturnType<typeof gate> | undefined;
    const store: EventStore = {
      async append(message, encode) {
        const stored: StoredEvent = await inner.append(message, encode); // visible from here on
        if (holdAppend) await holdAppend.promise; // the round trip's reply is still on its way
        return stored;
      },
      since: (id) => inner.since(id),
    };
    const channel = createChannel({ store });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 2);
    holdAppend = gate();
    const publishing = channel.publish('tick', 'n3');
    await tick();
    const { sink, done } = open(engine, { 'Last-Event-ID': '2' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    holdAppend.release();
    await publishing;
    expect(sink.text).toBe(ticks(3, 3)); // actual: event 3 twice
    sink.disconnect();
    await done;
  });
});

describe('channel: a shared store whose tail lags behind the client', () => {
  /**
   * A log shared with other processes: appends land in it at once, the tail delivers them when
   * the test says (it lags), and a replay for an id the tail has not delivered yet says the
   * client already has everything up to it.
   */
  function laggingSharedStore(sinceGate?: Promise<void>) {
    const log: StoredEvent[] = [];
    let delivered = 0;
    let onEvent: ((stored: StoredEvent) => void) | undefined;
    const store: EventStore = {
      append(message, encode) {
        const id = String(log.length + 1);
        const stored: StoredEvent = { ...message, id, bytes: encode(id) };
        log.push(stored);
        return stored;
      },
      async since(lastEventId) {
        await sinceGate;
        const last = Number(lastEventId);
        return {
          events: log.slice(last, delivered),
          complete: true,
          alreadyDelivered: (id: string) => Number(id) <= last,
        };
      },
      tail(deliver) {
        onEvent = deliver;
        return () => {
          onEvent = undefined;
        };
      },
    };
    const catchUp = () => {
      while (delivered < log.length) onEvent?.(log[delivered++]!);
    };
    return { store, catchUp };
  }

  it('skips the events the client already has when the tail delivers them, and sends the rest', async () => {
    const { store, catchUp } = laggingSharedStore();
    const channel = createChannel({ store });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 3); // appended by "another process"; this tail has not read them
    const { sink, done } = open(engine, { 'Last-Event-ID': '3' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    await publishMany(channel, 4, 5);
    catchUp();
    expect(sink.text).toBe(ticks(4, 5));
    await publishMany(channel, 6, 6);
    catchUp();
    expect(sink.text).toBe(ticks(4, 6));
    sink.disconnect();
    await done;
  });

  it('skips them too when the tail delivers them while the replay is read', async () => {
    const replayRead = gate();
    const { store, catchUp } = laggingSharedStore(replayRead.promise);
    const channel = createChannel({ store });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 3);
    const { sink, done } = open(engine, { 'Last-Event-ID': '2' });
    await tick();
    await publishMany(channel, 4, 4);
    catchUp(); // 1 to 4 arrive while the replay is being read: held for this stream
    replayRead.release();
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(ticks(3, 4));
    sink.disconnect();
    await done;
  });
});

describe('channel: replay gap', () => {
  it('sends replay-gap first, then the retained events, when Last-Event-ID is older than kept', async () => {
    const channel = createChannel({ store: createMemoryStore({ limit: 3 }) });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, { 'Last-Event-ID': '1' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(REPLAY_GAP_EVENT).toBe('replay-gap');
    expect(sink.chunks[0]).toBe(
      'event: replay-gap\ndata: {"lastEventId":"1","oldestRetainedId":"3"}\n\n',
    );
    expect(sink.text).toBe(gap('1', '3') + ticks(3, 5));
    await publishMany(channel, 6, 6);
    expect(sink.text).toBe(gap('1', '3') + ticks(3, 6));
    sink.disconnect();
    await done;
  });

  it('sends no gap when the next event is the oldest retained', async () => {
    const channel = createChannel({ store: createMemoryStore({ limit: 3 }) });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, { 'Last-Event-ID': '2' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(ticks(3, 5));
    sink.disconnect();
    await done;
  });

  it('sends a gap and everything retained for an id the store does not know', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 2);
    const unknown = open(engine, { 'Last-Event-ID': 'abc' });
    const future = open(engine, { 'Last-Event-ID': '9' });
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    expect(unknown.sink.text).toBe(gap('abc', '1') + ticks(1, 2));
    expect(future.sink.text).toBe(gap('9', '1') + ticks(1, 2));
    unknown.sink.disconnect();
    future.sink.disconnect();
    await Promise.all([unknown.done, future.done]);
  });

  it('reports oldestRetainedId null when nothing is retained', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine, { 'Last-Event-ID': '7' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(gap('7', null));
    const data = sink.chunks[0]!.split('\n')[1]!.slice('data: '.length);
    expect(JSON.parse(data)).toEqual({ lastEventId: '7', oldestRetainedId: null });
    sink.disconnect();
    await done;
  });
});

describe('channel: subscribers', () => {
  it('counts subscribers up, and back down to 0 as clients leave', async () => {
    const channel = createChannel();
    const engine = engineFor(channel.source());
    const a = open(engine);
    const b = open(engine);
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    a.sink.disconnect();
    await a.done;
    await waitFor(() => channel.stats().subscribers === 1, '1 subscriber');
    expect(a.sink.closed).toBe(true);
    await channel.publish('message', 'only b');
    expect(a.sink.raw).toHaveLength(0);
    expect(b.sink.text).toBe(wire(1, 'only b'));
    b.sink.disconnect();
    await b.done;
    await waitFor(() => channel.stats().subscribers === 0, '0 subscribers');
    expect(engine.stats().open).toBe(0);
  });

  it('serves one channel through several engines', async () => {
    const channel = createChannel();
    const first = open(engineFor(channel.source()));
    const second = open(engineFor(channel.source({ topics: ['x'] })));
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    await channel.publish('message', 'x', { topic: 'x' });
    await channel.publish('message', 'y', { topic: 'y' });
    expect(first.sink.text).toBe(wire(1, 'x') + wire(2, 'y'));
    expect(second.sink.text).toBe(wire(1, 'x'));
    first.sink.disconnect();
    second.sink.disconnect();
    await Promise.all([first.done, second.done]);
    expect(channel.stats().subscribers).toBe(0);
  });
});

describe('channel: options validation', () => {
  it.each<[string, () => unknown, RegExp]>([
    [
      'options not an object',
      () => createChannel('x' as never),
      /^createChannel\(options\) must be an object, received "x" \(string\)$/,
    ],
    [
      'store without since',
      () => createChannel({ store: { append: () => undefined } as never }),
      /^createChannel\(options\)\.store must be an EventStore with append\(\) and since\(\), received /,
    ],
    [
      'store without append',
      () => createChannel({ store: { since: () => undefined } as never }),
      /^createChannel\(options\)\.store must be an EventStore/,
    ],
    [
      'store not an object',
      () => createChannel({ store: 5 as never }),
      /^createChannel\(options\)\.store must be an EventStore with append\(\) and since\(\), received 5 \(number\)$/,
    ],
    [
      'serializer not a function',
      () => createChannel({ serializer: 'json' as never }),
      /^createChannel\(options\)\.serializer must be a function, received "json" \(string\)$/,
    ],
    [
      'source options not an object',
      () => createChannel().source(5 as never),
      /^channel\.source\(options\) must be an object, received 5 \(number\)$/,
    ],
    [
      'topics not strings',
      () => createChannel().source({ topics: ['a', 1] as never }),
      /^channel\.source\(options\)\.topics must be an array of strings, received an array of length 2$/,
    ],
    [
      'topics a string',
      () => createChannel().source({ topics: 'a' as never }),
      /^channel\.source\(options\)\.topics must be an array of strings, received "a" \(string\)$/,
    ],
    [
      'filter not a function',
      () => createChannel().source({ filter: true as never }),
      /^channel\.source\(options\)\.filter must be a function, received true \(boolean\)$/,
    ],
  ])('rejects %s with a TypeError naming it', (_, f, message) => {
    const error = thrown(f);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toMatch(message);
  });

  it('validates per-request options when the stream starts, ending it with the error', async () => {
    const onError = vi.fn();
    const channel = createChannel();
    const engine = engineFor(
      channel.source(() => ({ topics: 'a' }) as never),
      { onError },
    );
    const { sink, done } = open(engine);
    await done;
    expect(onError).toHaveBeenCalledTimes(1);
    const error = onError.mock.calls[0]![0] as Error;
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('channel.source(options).topics');
    expect(sink.text).toMatch(/^event: error\ndata: Error - \(TypeError\) channel\.source/);
    expect(sink.closed).toBe(true);
    expect(channel.stats().subscribers).toBe(0);
  });

  it('marks its source as a push source the engine accepts as a function', () => {
    expect(typeof createChannel().source()).toBe('function');
  });
});
