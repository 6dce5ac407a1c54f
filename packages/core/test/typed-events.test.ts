import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createRequestView, createSseEngine } from '../src/adapter.js';
import {
  type Channel,
  type ChannelEvent,
  createChannel,
  createMemoryStore,
  type SubscribeOptions,
} from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';
import { sleep } from './support/util.js';

type Price = { symbol: string; value: number };
type Events = { price: Price; note: string };

const _decoder = new TextDecoder();

function parse(wire: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({
    onEvent: (e) => events.push(e),
    onError: (e) => {
      throw e;
    },
  });
  parser.feed(wire);
  return events;
}

/**
 * Never called: only typechecked (tsc -p tsconfig.json includes the tests). Every
 * `@ts-expect-error` must face an error, or tsc fails on the unused directive.
 */
function typeChecks(channel: Channel<Events>) {
  void channel.publish('price', { symbol: 'A', value: 1 });
  void channel.publish('note', 'hello', { topic: 'n' });
  // @ts-expect-error a price is an object, not a string
  void channel.publish('price', 'x');
  // @ts-expect-error an event name the map does not have
  void channel.publish('unknown', 1);
  // @ts-expect-error a price needs its value
  void channel.publish('price', { symbol: 'A' });
  // @ts-expect-error a note is a string
  void channel.publish('note', 1);
  // @ts-expect-error a topic is a string
  void channel.publish('note', 'x', { topic: 1 });
  // @ts-expect-error the filter's event names are those of the map
  channel.source({ filter: (e) => e.event === 'nope' });
  // @ts-expect-error a filter returns a boolean
  channel.source({ filter: () => 'yes' });

  // Without a map, anything goes.
  const untyped = createChannel();
  void untyped.publish('anything', { x: [1] });
  void untyped.publish('message', 'text');
}

describe('typed events: types', () => {
  it('types publish: its event names, their payloads, and its result', () => {
    expectTypeOf(typeChecks).toBeFunction();
    const channel = createChannel<Events>();
    expectTypeOf(channel).toEqualTypeOf<Channel<Events>>();
    expectTypeOf(channel.publish).parameter(0).toEqualTypeOf<'price' | 'note'>();
    expectTypeOf(channel.publish<'price'>)
      .parameter(1)
      .toEqualTypeOf<Price>();
    expectTypeOf(channel.publish<'note'>)
      .parameter(1)
      .toEqualTypeOf<string>();
    expectTypeOf(channel.publish).returns.toEqualTypeOf<Promise<{ id: string }>>();
    expectTypeOf(channel.publish('price', { symbol: 'A', value: 1 })).resolves.toEqualTypeOf<{
      id: string;
    }>();
    expectTypeOf(channel.publish).toBeCallableWith('price', { symbol: 'A', value: 1 });
    expectTypeOf(channel.publish).toBeCallableWith('note', 'hi');
  });

  it("types the filter's event argument", () => {
    const channel = createChannel<Events>();
    type FilterArg = Parameters<NonNullable<SubscribeOptions<Events>['filter']>>[0];
    expectTypeOf<FilterArg>().toEqualTypeOf<ChannelEvent<Events>>();
    expectTypeOf<FilterArg['event']>().toEqualTypeOf<'price' | 'note'>();
    expectTypeOf<FilterArg['data']>().toEqualTypeOf<string>();
    expectTypeOf<FilterArg['value']>().toEqualTypeOf<Price | string | undefined>();
    expectTypeOf<FilterArg['id']>().toEqualTypeOf<string>();
    expectTypeOf<FilterArg['topic']>().toEqualTypeOf<string | undefined>();
    channel.source({
      filter: (e) => {
        expectTypeOf(e.event).toEqualTypeOf<'price' | 'note'>();
        expectTypeOf(e.data).toEqualTypeOf<string>();
        if (e.event === 'price') expectTypeOf(e.value).toEqualTypeOf<Price | undefined>();
        return true;
      },
    });
    channel.source((_req, ctx) => {
      expectTypeOf(ctx.lastEventId).toEqualTypeOf<string | undefined>();
      return { topics: ['a'], filter: (e) => e.event === 'price' };
    });
  });
});

describe('typed events: runtime round trip', () => {
  it('delivers typed publishes through the engine, and the filter sees their values', async () => {
    const channel = createChannel<Events>({ store: createMemoryStore({ epoch: 'e' }) });
    const seen: Array<ChannelEvent<Events>> = [];
    const engine = createSseEngine({
      requestMatcher: () => true,
      heartbeat: 0,
      source: channel.source({
        filter: (e) => {
          seen.push(e);
          return e.event !== 'price' || (e.value?.value ?? 0) > 0;
        },
      }),
    });
    const req = engine.match(createRequestView({ method: 'GET', url: '/', headers: {} }))!;
    const sink = new MemorySink();
    const done = engine.serve(req, sink);
    const deadline = Date.now() + 5000;
    while (channel.stats().subscribers < 1 && Date.now() < deadline) await sleep(5);

    const first = await channel.publish('price', { symbol: 'A', value: 1 });
    const second = await channel.publish('note', 'hello');
    const third = await channel.publish('price', { symbol: 'B', value: -1 });
    expect([first, second, third]).toEqual([{ id: 'e.1' }, { id: 'e.2' }, { id: 'e.3' }]);

    expect(sink.text).toBe(
      'id: e.1\nevent: price\ndata: {"symbol":"A","value":1}\n\n' +
        'id: e.2\nevent: note\ndata: hello\n\n',
    );
    const received = parse(sink.text);
    expect(received.map((e) => [e.id, e.event, e.data])).toEqual([
      ['e.1', 'price', '{"symbol":"A","value":1}'],
      ['e.2', 'note', 'hello'],
    ]);
    const price: Price = JSON.parse(received[0]!.data);
    expect(price).toEqual({ symbol: 'A', value: 1 });
    expect(seen).toEqual([
      {
        id: 'e.1',
        event: 'price',
        data: '{"symbol":"A","value":1}',
        value: { symbol: 'A', value: 1 },
        topic: undefined,
      },
      { id: 'e.2', event: 'note', data: 'hello', value: 'hello', topic: undefined },
      {
        id: 'e.3',
        event: 'price',
        data: '{"symbol":"B","value":-1}',
        value: { symbol: 'B', value: -1 },
        topic: undefined,
      },
    ]);
    sink.disconnect();
    await done;
  });
});
