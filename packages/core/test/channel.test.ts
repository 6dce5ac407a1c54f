import { describe, expect, it, vi } from 'vitest';
import { createRequestView, createSseEngine, type HeaderSource } from '../src/adapter.js';
import {
  type Channel,
  type ChannelOptions,
  CONTROL_EVENTS,
  createChannel,
  createMemoryStore,
  type EventMap,
  type EventStore,
  MAX_ECHOED_ID_LENGTH,
  queryTokenMatch,
  REPLAY_GAP_EVENT,
  SseEncodeError,
  type SseEngine,
  type SseOptions,
  SseReservedEventError,
  SseSerializeError,
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

/** A memory store with the fixed epoch `e`: its ids read `e.1`, `e.2`… */
const storeOf = (limit?: number) =>
  createMemoryStore(limit === undefined ? { epoch: 'e' } : { epoch: 'e', limit });

/** A channel on {@link storeOf} (unless `options.store` says otherwise): deterministic ids. */
function channelOf<E extends EventMap = EventMap>(options: ChannelOptions = {}): Channel<E> {
  return createChannel<E>({ store: storeOf(), ...options });
}

/** What one published event looks like on the wire; a number `n` is the id `e.<n>`. */
function wire(id: string | number, data: string, event?: string): string {
  const shown = typeof id === 'number' ? `e.${id}` : id;
  return `id: ${shown}\n${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n\n`;
}

const gap = (
  lastEventId: string,
  oldestRetainedId: string | null,
  reason: 'not-retained' | 'unknown-epoch' = 'not-retained',
) =>
  `event: ${REPLAY_GAP_EVENT}\ndata: ${JSON.stringify({ lastEventId, oldestRetainedId, reason })}\n\n`;

/** The data of a `replay-gap` event, parsed. */
const gapData = (chunk: string) => {
  const match = /^event: replay-gap\ndata: (.*)\n\n$/.exec(chunk);
  if (!match) throw new Error(`not a replay-gap event: ${JSON.stringify(chunk)}`);
  return JSON.parse(match[1]!) as Record<string, unknown>;
};

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
    const channel = channelOf();
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

  it('mixes streams that select nothing, select topics and replay; all leave the set when they end', async () => {
    const channel = channelOf();
    const plain = engineFor(channel.source());
    const onTopic = engineFor(channel.source({ topics: ['a'] }));
    await channel.publish('tick', 'n1', { topic: 'a' });
    const streams = [
      open(plain),
      open(onTopic),
      open(plain, { 'last-event-id': 'e.0' }),
      open(plain),
    ];
    await waitFor(() => channel.stats().subscribers === 4, '4 subscribers');
    await channel.publish('tick', 'n2', { topic: 'a' });
    await channel.publish('tick', 'n3', { topic: 'b' });
    const [first, topical, replayed, last] = streams.map((s) => s.sink.text);
    expect(first).toBe(wire(2, 'n2', 'tick') + wire(3, 'n3', 'tick'));
    expect(topical).toBe(wire(2, 'n2', 'tick'));
    expect(replayed).toBe(ticks(1, 3));
    expect(last).toBe(first);
    streams[0]!.sink.disconnect();
    streams[2]!.sink.disconnect();
    await Promise.all([streams[0]!.done, streams[2]!.done]);
    expect(channel.stats().subscribers).toBe(2);
    await channel.publish('tick', 'n4', { topic: 'a' });
    expect(streams[1]!.sink.text).toBe(wire(2, 'n2', 'tick') + wire(4, 'n4', 'tick'));
    expect(streams[3]!.sink.text).toBe(first + wire(4, 'n4', 'tick'));
    streams[1]!.sink.disconnect();
    streams[3]!.sink.disconnect();
    await Promise.all([streams[1]!.done, streams[3]!.done]);
    expect(channel.stats().subscribers).toBe(0);
  });

  it('encodes once: the same Uint8Array instance goes to every subscriber', async () => {
    const channel = channelOf();
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
    const channel = channelOf();
    expect(channel.stats()).toEqual({ published: 0, subscribers: 0 });
    await expect(channel.publish('a', 1)).resolves.toEqual({ id: 'e.1' });
    await expect(channel.publish('a', 2)).resolves.toEqual({ id: 'e.2' });
    expect(channel.stats()).toEqual({ published: 2, subscribers: 0 });
  });

  it('keeps the publish order for publishes not awaited one by one', async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    const results = await Promise.all([1, 2, 3, 4].map((i) => channel.publish('tick', `n${i}`)));
    expect(results).toEqual([{ id: 'e.1' }, { id: 'e.2' }, { id: 'e.3' }, { id: 'e.4' }]);
    expect(sink.text).toBe(ticks(1, 4));
    sink.disconnect();
    await done;
  });
});

describe('channel: encoding', () => {
  it("writes no event: line for the event name 'message'", async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await channel.publish('message', 'hi');
    await channel.publish('greeting', 'hello');
    expect(sink.chunks).toEqual([
      'id: e.1\ndata: hi\n\n',
      'id: e.2\nevent: greeting\ndata: hello\n\n',
    ]);
    sink.disconnect();
    await done;
  });

  it('sends strings as they are and serialises anything else as JSON', async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await channel.publish('message', { a: 1, b: [true, null], c: 'x' });
    await channel.publish('message', 42);
    await channel.publish('message', '{"already":"text"}');
    await channel.publish('message', 'line 1\nline 2');
    await channel.publish('message', null);
    expect(sink.chunks).toEqual([
      'id: e.1\ndata: {"a":1,"b":[true,null],"c":"x"}\n\n',
      'id: e.2\ndata: 42\n\n',
      'id: e.3\ndata: {"already":"text"}\n\n',
      'id: e.4\ndata: line 1\ndata: line 2\n\n',
      'id: e.5\ndata: null\n\n',
    ]);
    sink.disconnect();
    await done;
  });

  it('uses a custom serializer for every payload, strings included', async () => {
    const serializer = vi.fn((value: unknown) => `<${typeof value}:${String(value)}>`);
    const channel = channelOf({ serializer });
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
    const channel = channelOf();
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
    const channel = channelOf();
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
      id: 'e.1',
      event: 'price',
      data: JSON.stringify(payload),
      value: payload,
      topic: 'stocks',
    });
    expect(first['value']).toBe(payload); // the value itself, as published in this process
    expect(filter.mock.calls[1]![0]).toEqual({
      id: 'e.2',
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
    const channel = channelOf<{ price: { value: number } }>();
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
    const channel = channelOf({ onError: (error) => reported.push(error) });
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
  /**
   * Publishes `ok`, then the refused event, then `next`, to a subscribed stream: the refused
   * one reaches no subscriber (not even its filter), is not counted, and takes no id.
   */
  async function refusedScenario(
    channelOptions: ChannelOptions,
    refuse: (c: Channel) => Promise<unknown>,
  ) {
    const channel = channelOf(channelOptions);
    const filter = vi.fn((_event: unknown) => true);
    const engine = engineFor(channel.source({ filter }));
    const { sink, done } = open(engine);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    await channel.publish('message', 'ok');
    const before = sink.raw.length;
    const error = await refuse(channel).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(channel.stats().published).toBe(1);
    expect(sink.raw).toHaveLength(before);
    expect(filter).toHaveBeenCalledTimes(1);
    // No hole in the ids, and the store kept nothing.
    await expect(channel.publish('message', 'next')).resolves.toEqual({ id: 'e.2' });
    expect(sink.text).toBe(wire(1, 'ok') + wire(2, 'next'));
    expect(filter).toHaveBeenCalledTimes(2);
    const late = open(engine, { 'Last-Event-ID': 'e.0' });
    await waitFor(() => channel.stats().subscribers === 2, 'the replaying subscriber');
    expect(late.sink.text).toBe(wire(1, 'ok') + wire(2, 'next'));
    sink.disconnect();
    late.sink.disconnect();
    await Promise.all([done, late.done]);
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

  it('rejects a serializer result that is not a string with SseSerializeError, publishing nothing', async () => {
    const serializer = (value: unknown) =>
      value === 'bad' ? (42 as unknown as string) : String(value);
    const error = await refusedScenario({ serializer }, (c) => c.publish('message', 'bad'));
    expect(error).toBeInstanceOf(SseSerializeError);
    expect(error).toBeInstanceOf(SseEncodeError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).name).toBe('SseSerializeError');
    expect((error as Error).message).toBe(
      'publish("message"): the serializer must return a string, returned 42 (number)',
    );
  });

  it('rejects undefined data with SseSerializeError saying the data is missing, publishing nothing', async () => {
    const error = await refusedScenario({}, (c) => c.publish('message', undefined));
    expect(error).toBeInstanceOf(SseSerializeError);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(
      'publish("message"): the data is missing (received undefined); publish \'\' for an event without data',
    );
  });

  it("rejects publish('x') without data with SseSerializeError saying the data is missing", async () => {
    const serializer = vi.fn((value: unknown) => String(value));
    const error = await refusedScenario({ serializer }, (c) =>
      (c.publish as (event: string) => Promise<unknown>)('x'),
    );
    expect(error).toBeInstanceOf(SseSerializeError);
    expect((error as Error).message).toMatch(/^publish\("x"\): the data is missing/);
    // Missing data is refused before any serializer sees it.
    expect(serializer.mock.calls.map((c) => c[0])).toEqual(['ok', 'next']);
  });

  it('rejects a serializer that throws with SseSerializeError, keeping its error as the cause', async () => {
    const boom = new Error('cannot serialise');
    const serializer = (value: unknown) => {
      if (value === 'bad') throw boom;
      return String(value);
    };
    const error = await refusedScenario({ serializer }, (c) => c.publish('message', 'bad'));
    expect(error).toBeInstanceOf(SseSerializeError);
    expect(error).toBeInstanceOf(SseEncodeError);
    expect((error as Error).cause).toBe(boom);
    expect((error as Error).message).toBe(
      'publish("message"): the serializer cannot turn the data into text (Error: cannot serialise)',
    );
  });

  it('rejects a serializer that throws a non-Error with SseSerializeError naming what it threw', async () => {
    const serializer = (value: unknown) => {
      if (value === 'bad') throw 'nope';
      return String(value);
    };
    const error = await refusedScenario({ serializer }, (c) => c.publish('message', 'bad'));
    expect(error).toBeInstanceOf(SseSerializeError);
    expect((error as Error).cause).toBe('nope');
    expect((error as Error).message).toBe(
      'publish("message"): the serializer cannot turn the data into text (nope)',
    );
  });

  it.each<[string, () => unknown, RegExp]>([
    [
      'cyclic data',
      () => {
        const cyclic: Record<string, unknown> = { name: 'loop' };
        cyclic['self'] = cyclic;
        return cyclic;
      },
      /^publish\("tick"\): the serializer cannot turn the data into text \(TypeError: .*circular/i,
    ],
    [
      'a BigInt',
      () => ({ amount: 10n }),
      /^publish\("tick"\): the serializer cannot turn the data into text \(TypeError: .*BigInt/,
    ],
    [
      'a 30,000-deep nested array',
      () => {
        let deep: unknown[] = [];
        for (let i = 0; i < 30_000; i += 1) deep = [deep];
        return deep;
      },
      /^publish\("tick"\): the serializer cannot turn the data into text \(RangeError: /,
    ],
  ])(
    'rejects %s with SseSerializeError saying why, publishing nothing',
    async (_, make, message) => {
      const data = make();
      const error = await refusedScenario({}, (c) => c.publish('tick', data));
      expect(error).toBeInstanceOf(SseSerializeError);
      expect(error).toBeInstanceOf(SseEncodeError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).cause).toBeInstanceOf(Error);
    },
  );

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

  it.each(['shutdown', 'error', 'replay-gap', 'reauth'])(
    'rejects publish(%j), an event the library sends itself, with SseReservedEventError',
    async (name) => {
      const error = await refusedScenario({}, (c) => c.publish(name, 'forged'));
      expect(error).toBeInstanceOf(SseReservedEventError);
      expect(error).toBeInstanceOf(SseEncodeError);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).name).toBe('SseReservedEventError');
      expect((error as Error).message).toBe(
        `publish(${JSON.stringify(name)}): "${name}" is an event the library sends itself (error, shutdown, replay-gap, reauth); createChannel({ allowControlEvents: true }) allows publishing it`,
      );
    },
  );

  it('reserves exactly error, shutdown, replay-gap and reauth, in a frozen list', () => {
    expect(CONTROL_EVENTS).toEqual(['error', 'shutdown', 'replay-gap', 'reauth']);
    expect(Object.isFrozen(CONTROL_EVENTS)).toBe(true);
  });

  it('publishes the control event names with allowControlEvents: true', async () => {
    const channel = channelOf({ allowControlEvents: true });
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine);
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    await expect(channel.publish('shutdown', 'bye')).resolves.toEqual({ id: 'e.1' });
    await expect(channel.publish('error', 'oops')).resolves.toEqual({ id: 'e.2' });
    await expect(channel.publish('replay-gap', '{}')).resolves.toEqual({ id: 'e.3' });
    expect(sink.text).toBe(
      wire(1, 'bye', 'shutdown') + wire(2, 'oops', 'error') + wire(3, '{}', 'replay-gap'),
    );
    expect(channel.stats().published).toBe(3);
    sink.disconnect();
    await done;
  });

  it('still refuses a control event name with allowControlEvents: false', async () => {
    const error = await refusedScenario({ allowControlEvents: false }, (c) =>
      c.publish('shutdown', ''),
    );
    expect(error).toBeInstanceOf(SseReservedEventError);
  });

  it('rejects and publishes nothing when the store refuses the event', async () => {
    const inner = storeOf();
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
    const channel = channelOf();
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.2' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(ticks(3, 5));
    await publishMany(channel, 6, 7);
    expect(sink.text).toBe(ticks(3, 7));
    sink.disconnect();
    await done;
  });

  it('replays the same bytes live subscribers got', async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    const live = open(engine);
    await publishMany(channel, 1, 3);
    const late = open(engine, { 'Last-Event-ID': 'e.0' });
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    expect(late.sink.raw).toHaveLength(3);
    for (let i = 0; i < 3; i += 1) expect(late.sink.raw[i]).toBe(live.sink.raw[i]);
    live.sink.disconnect();
    late.sink.disconnect();
    await Promise.all([live.done, late.done]);
  });

  it('reads lastEventId from the query like the header', async () => {
    const channel = channelOf();
    const engine = createSseEngine({
      requestMatcher: queryTokenMatch('stream=true'),
      source: channel.source(),
      heartbeat: 0,
    });
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, {}, '/events?stream=true&lastEventId=e.3');
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    await publishMany(channel, 6, 6);
    expect(sink.text).toBe(ticks(4, 6));
    sink.disconnect();
    await done;
  });

  it('applies topics and the filter to replayed events too', async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source({ topics: ['a'], filter: (e) => e.data !== 'skip' }));
    await channel.publish('t', 'old', { topic: 'a' }); // 1
    await channel.publish('t', 'a1', { topic: 'a' }); // 2
    await channel.publish('t', 'b1', { topic: 'b' }); // 3
    await channel.publish('t', 'skip'); // 4
    await channel.publish('t', 'plain'); // 5
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.1' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(wire(2, 'a1', 't') + wire(5, 'plain', 't'));
    sink.disconnect();
    await done;
  });

  /** A store whose since() waits for the test; `snapshotFirst` reads the events before waiting. */
  function slowReplayStore(snapshotFirst: boolean) {
    const inner = storeOf();
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
      const { sink, done } = open(engine, { 'Last-Event-ID': 'e.2' });
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
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.1' });
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

  // BUG (src/api/channel.ts, publish() + subscribe()): with an asynchronous store (Redis, say) an
  // event is visible to since() before append() resolves. A client replaying in that window gets
  // it from the replay, is subscribed, and then gets it again from the publish's fan-out.
  it('no duplicate when a replay reads an event whose asynchronous append has not resolved yet', async () => {
    const inner = storeOf();
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
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.2' });
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
        const id = `e.${log.length + 1}`;
        const stored: StoredEvent = { ...message, id, bytes: encode(id) };
        log.push(stored);
        return stored;
      },
      async since(lastEventId) {
        await sinceGate;
        const seq = (id: string) => Number(id.slice('e.'.length));
        const last = seq(lastEventId);
        return {
          events: log.slice(last, delivered),
          complete: true,
          alreadyDelivered: (id: string) => seq(id) <= last,
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
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.3' });
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
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.2' });
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
  it("sends a 'not-retained' replay-gap first, then the retained events, when Last-Event-ID was evicted", async () => {
    const channel = channelOf({ store: storeOf(3) });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.1' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(REPLAY_GAP_EVENT).toBe('replay-gap');
    expect(sink.chunks[0]).toBe(
      'event: replay-gap\ndata: {"lastEventId":"e.1","oldestRetainedId":"e.3","reason":"not-retained"}\n\n',
    );
    expect(sink.text).toBe(gap('e.1', 'e.3', 'not-retained') + ticks(3, 5));
    await publishMany(channel, 6, 6);
    expect(sink.text).toBe(gap('e.1', 'e.3', 'not-retained') + ticks(3, 6));
    sink.disconnect();
    await done;
  });

  it('sends no gap when the next event is the oldest retained', async () => {
    const channel = channelOf({ store: storeOf(3) });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 5);
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.2' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(ticks(3, 5));
    sink.disconnect();
    await done;
  });

  it("sends an 'unknown-epoch' gap and everything retained for an id the store does not know", async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 2);
    const unknown = open(engine, { 'Last-Event-ID': 'abc' });
    const oldFormat = open(engine, { 'Last-Event-ID': '1' });
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    expect(unknown.sink.text).toBe(gap('abc', 'e.1', 'unknown-epoch') + ticks(1, 2));
    expect(oldFormat.sink.text).toBe(gap('1', 'e.1', 'unknown-epoch') + ticks(1, 2));
    unknown.sink.disconnect();
    oldFormat.sink.disconnect();
    await Promise.all([unknown.done, oldFormat.done]);
  });

  it("sends an 'unknown-epoch' gap and everything retained for a future id of its own epoch", async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 2);
    const future = open(engine, { 'Last-Event-ID': 'e.9' });
    const next = open(engine, { 'Last-Event-ID': 'e.3' });
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    expect(future.sink.text).toBe(gap('e.9', 'e.1', 'unknown-epoch') + ticks(1, 2));
    expect(next.sink.text).toBe(gap('e.3', 'e.1', 'unknown-epoch') + ticks(1, 2));
    await publishMany(channel, 3, 3);
    expect(future.sink.text).toBe(gap('e.9', 'e.1', 'unknown-epoch') + ticks(1, 3));
    future.sink.disconnect();
    next.sink.disconnect();
    await Promise.all([future.done, next.done]);
  });

  it("sends an 'unknown-epoch' gap, then every retained event, for the Last-Event-ID of another store (a restart)", async () => {
    // The previous run of the process: a channel on its own default store, with random epoch.
    const before = createChannel();
    await before.publish('tick', 'old 1');
    const { id: lastEventId } = await before.publish('tick', 'old 2');
    // The new run: a new channel and store, which has issued a second id too.
    const after = createChannel();
    const engine = engineFor(after.source());
    const ids: string[] = [];
    for (let i = 1; i <= 3; i += 1) ids.push((await after.publish('tick', `n${i}`)).id);
    expect(lastEventId).toMatch(/^[0-9a-z]{8}\.2$/);
    expect(ids[1]).toMatch(/^[0-9a-z]{8}\.2$/);
    expect(ids[1]).not.toBe(lastEventId);

    const { sink, done } = open(engine, { 'Last-Event-ID': lastEventId });
    await waitFor(() => after.stats().subscribers === 1, 'the subscriber');
    expect(sink.chunks[0]).toBe(
      `event: replay-gap\ndata: {"lastEventId":"${lastEventId}","oldestRetainedId":"${ids[0]}","reason":"unknown-epoch"}\n\n`,
    );
    expect(sink.text).toBe(
      gap(lastEventId, ids[0]!, 'unknown-epoch') +
        wire(ids[0]!, 'n1', 'tick') +
        wire(ids[1]!, 'n2', 'tick') +
        wire(ids[2]!, 'n3', 'tick'),
    );
    const { id: live } = await after.publish('tick', 'n4');
    expect(sink.chunks.at(-1)).toBe(wire(live, 'n4', 'tick'));
    sink.disconnect();
    await done;
  });

  it("reports oldestRetainedId null when nothing is retained, with reason 'unknown-epoch'", async () => {
    const channel = channelOf();
    const engine = engineFor(channel.source());
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.7' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(gap('e.7', null, 'unknown-epoch'));
    const data = gapData(sink.chunks[0]!);
    expect(data).toEqual({ lastEventId: 'e.7', oldestRetainedId: null, reason: 'unknown-epoch' });
    expect(Object.keys(data)).toEqual(['lastEventId', 'oldestRetainedId', 'reason']);
    sink.disconnect();
    await done;
  });

  it('echoes a 10,000-character Last-Event-ID cut to 128 characters, with truncated: true', async () => {
    expect(MAX_ECHOED_ID_LENGTH).toBe(128);
    const channel = channelOf();
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 2);
    const long = `e.1${'9'.repeat(9_997)}`;
    expect(long).toHaveLength(10_000);
    const atLimit = `x${'y'.repeat(127)}`;
    const a = open(engine, { 'Last-Event-ID': long });
    const b = open(engine, { 'Last-Event-ID': atLimit });
    await waitFor(() => channel.stats().subscribers === 2, '2 subscribers');
    const data = gapData(a.sink.chunks[0]!);
    expect(data).toEqual({
      lastEventId: long.slice(0, 128),
      truncated: true,
      oldestRetainedId: 'e.1',
      reason: 'unknown-epoch',
    });
    expect(Object.keys(data)).toEqual(['lastEventId', 'truncated', 'oldestRetainedId', 'reason']);
    expect((data['lastEventId'] as string).length).toBe(128);
    expect(a.sink.chunks[0]!.length).toBeLessThan(300);
    expect(a.sink.text.slice(a.sink.chunks[0]!.length)).toBe(ticks(1, 2));
    // 128 characters are echoed as they are, without truncated.
    expect(b.sink.text).toBe(gap(atLimit, 'e.1', 'unknown-epoch') + ticks(1, 2));
    a.sink.disconnect();
    b.sink.disconnect();
    await Promise.all([a.done, b.done]);
  });

  it("reports reason 'not-retained' for a store that gives no gapReason", async () => {
    const inner = storeOf();
    const store: EventStore = {
      append: (message, encode) => inner.append(message, encode),
      async since(id) {
        const { events } = await inner.since(id);
        return { events, complete: false };
      },
    };
    const channel = channelOf({ store });
    const engine = engineFor(channel.source());
    await publishMany(channel, 1, 2);
    const { sink, done } = open(engine, { 'Last-Event-ID': 'e.1' });
    await waitFor(() => channel.stats().subscribers === 1, 'the subscriber');
    expect(sink.text).toBe(gap('e.1', 'e.2', 'not-retained') + ticks(2, 2));
    sink.disconnect();
    await done;
  });
});

describe('channel: subscribers', () => {
  it('counts subscribers up, and back down to 0 as clients leave', async () => {
    const channel = channelOf();
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
    const channel = channelOf();
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
      "allowControlEvents 'yes'",
      () => createChannel({ allowControlEvents: 'yes' as never }),
      /^createChannel\(options\)\.allowControlEvents must be a boolean, received "yes" \(string\)$/,
    ],
    [
      'allowControlEvents 1',
      () => createChannel({ allowControlEvents: 1 as never }),
      /^createChannel\(options\)\.allowControlEvents must be a boolean, received 1 \(number\)$/,
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
    const channel = channelOf();
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
