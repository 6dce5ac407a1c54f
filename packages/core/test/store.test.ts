import { describe, expect, it, vi } from 'vitest';
import {
  type ChannelMessage,
  createMemoryStore,
  type EventStore,
  type ReplayResult,
  type StoredEvent,
} from '../src/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The memory store answers synchronously; the interface allows a promise, so both are accepted. */
async function since(store: EventStore, lastEventId: string): Promise<ReplayResult> {
  return await store.since(lastEventId);
}

async function append(store: EventStore, data: string, extra: Partial<ChannelMessage> = {}) {
  return await store.append({ event: undefined, data, topic: undefined, ...extra }, (id) =>
    encoder.encode(`id: ${id}\ndata: ${data}\n\n`),
  );
}

async function appendMany(store: EventStore, n: number): Promise<StoredEvent[]> {
  const stored: StoredEvent[] = [];
  for (let i = 1; i <= n; i += 1) stored.push(await append(store, `e${i}`));
  return stored;
}

const ids = (result: ReplayResult) => result.events.map((e) => e.id);

describe('createMemoryStore: ids and append', () => {
  it('assigns the ids 1..n as strings', async () => {
    const store = createMemoryStore();
    const stored = await appendMany(store, 12);
    expect(stored.map((e) => e.id)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
      '11',
      '12',
    ]);
    for (const e of stored) expect(typeof e.id).toBe('string');
  });

  it('calls encode once with the new id and keeps its bytes, with the message fields', async () => {
    const store = createMemoryStore();
    await append(store, 'first');
    const bytes = encoder.encode('the encoded event');
    const encode = vi.fn((_id: string) => bytes);
    const stored = await store.append({ event: 'price', data: '{"v":1}', topic: 'acme' }, encode);
    expect(encode).toHaveBeenCalledTimes(1);
    expect(encode).toHaveBeenCalledWith('2');
    expect(stored).toEqual({ id: '2', event: 'price', data: '{"v":1}', topic: 'acme', bytes });
    expect(stored.bytes).toBe(bytes);
    const replay = await since(store, '1');
    expect(replay.events).toHaveLength(1);
    expect(replay.events[0]!.bytes).toBe(bytes);
    expect(decoder.decode(replay.events[0]!.bytes)).toBe('the encoded event');
  });

  it('uses no id for an event whose encode throws', async () => {
    const store = createMemoryStore();
    await append(store, 'a');
    expect(() =>
      store.append({ event: undefined, data: 'x', topic: undefined }, () => {
        throw new Error('cannot encode');
      }),
    ).toThrow('cannot encode');
    const next = await append(store, 'b');
    expect(next.id).toBe('2');
    expect(ids(await since(store, '0'))).toEqual(['1', '2']);
  });
});

describe('createMemoryStore: since()', () => {
  it('returns the events after the given id, oldest first, complete', async () => {
    const store = createMemoryStore();
    const stored = await appendMany(store, 5);
    const replay = await since(store, '2');
    expect(replay.complete).toBe(true);
    expect(ids(replay)).toEqual(['3', '4', '5']);
    expect(replay.events.map((e) => e.data)).toEqual(['e3', 'e4', 'e5']);
    // The very objects append returned.
    expect(replay.events[0]).toBe(stored[2]);
    expect(await since(store, '0')).toEqual({ events: stored, complete: true });
  });

  it('returns nothing, complete, for the latest id', async () => {
    const store = createMemoryStore();
    await appendMany(store, 5);
    expect(await since(store, '5')).toEqual({ events: [], complete: true });
  });

  it('returns nothing, complete, for 0 on an empty store', async () => {
    const store = createMemoryStore();
    expect(await since(store, '0')).toEqual({ events: [], complete: true });
  });

  it('keeps the last `limit` events as a ring', async () => {
    const store = createMemoryStore({ limit: 3 });
    await appendMany(store, 5);
    const all = await since(store, '0');
    expect(ids(all)).toEqual(['3', '4', '5']);
    expect(all.complete).toBe(false); // 1 and 2 are gone
  });

  it('reports an evicted range as incomplete, with the retained events', async () => {
    const store = createMemoryStore({ limit: 3 });
    await appendMany(store, 5);
    const replay = await since(store, '1');
    expect(ids(replay)).toEqual(['3', '4', '5']);
    expect(replay.complete).toBe(false); // 2 was evicted
  });

  it('is complete when the next event after the id is the oldest retained', async () => {
    const store = createMemoryStore({ limit: 3 });
    await appendMany(store, 5);
    const replay = await since(store, '2');
    expect(ids(replay)).toEqual(['3', '4', '5']);
    expect(replay.complete).toBe(true);
    expect(await since(store, '4')).toMatchObject({ complete: true });
    expect(ids(await since(store, '4'))).toEqual(['5']);
  });

  it('keeps the ring in order across many wrap-arounds', async () => {
    const store = createMemoryStore({ limit: 4 });
    await appendMany(store, 23);
    expect(ids(await since(store, '19'))).toEqual(['20', '21', '22', '23']);
    expect(ids(await since(store, '21'))).toEqual(['22', '23']);
    expect((await since(store, '21')).events.map((e) => e.data)).toEqual(['e22', 'e23']);
  });

  it('works with limit 1', async () => {
    const store = createMemoryStore({ limit: 1 });
    await appendMany(store, 3);
    expect(await since(store, '2')).toMatchObject({ complete: true });
    expect(ids(await since(store, '2'))).toEqual(['3']);
    expect(await since(store, '1')).toMatchObject({ complete: false });
  });

  it('keeps 1000 events by default', async () => {
    const store = createMemoryStore();
    await appendMany(store, 1001);
    const fromStart = await since(store, '0');
    expect(fromStart.complete).toBe(false);
    expect(fromStart.events).toHaveLength(1000);
    expect(fromStart.events[0]!.id).toBe('2');
    expect((await since(store, '1')).complete).toBe(true);
  });

  it('reports a future id (from before a restart, say) as incomplete, with every retained event', async () => {
    const store = createMemoryStore();
    await appendMany(store, 5);
    const replay = await since(store, '9');
    expect(replay.complete).toBe(false);
    expect(ids(replay)).toEqual(['1', '2', '3', '4', '5']);
    expect(await since(createMemoryStore(), '1')).toEqual({ events: [], complete: false });
  });

  it.each(['abc', '-1', '01', '1.5', ' 1', '1 ', '', '1e2', '0x2', '99999999999999999999'])(
    'reports the malformed id %j as incomplete, with every retained event',
    async (id) => {
      const store = createMemoryStore({ limit: 3 });
      await appendMany(store, 5);
      const replay = await since(store, id);
      expect(replay.complete).toBe(false);
      expect(ids(replay)).toEqual(['3', '4', '5']);
    },
  );
});

describe('createMemoryStore: options', () => {
  it.each<[unknown, string]>([
    [0, '0 (number)'],
    [-1, '-1 (number)'],
    [1.5, '1.5 (number)'],
    ['3', '"3" (string)'],
    [Number.NaN, 'NaN (number)'],
    [Number.POSITIVE_INFINITY, 'Infinity (number)'],
  ])(
    'rejects limit %s with a TypeError naming createMemoryStore(options).limit',
    (limit, shown) => {
      let error: unknown;
      try {
        createMemoryStore({ limit: limit as number });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toBe(
        `createMemoryStore(options).limit must be a positive integer, received ${shown}`,
      );
    },
  );

  it('rejects options that are not an object', () => {
    expect(() => createMemoryStore(5 as never)).toThrow(TypeError);
    expect(() => createMemoryStore(5 as never)).toThrow(
      /createMemoryStore\(options\) must be an object/,
    );
  });
});
