import { describe, expect, it, vi } from 'vitest';
import {
  type ChannelMessage,
  createMemoryStore,
  type EventStore,
  type ReplayResult,
  type StoredEvent,
} from '../src/index.js';
import { thrown } from './support/util.js';

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

/** A store with the fixed epoch `e`: its ids read `e.1`, `e.2`… */
const storeOf = (options: { limit?: number } = {}) => createMemoryStore({ epoch: 'e', ...options });

/** The ids `e.<from>` to `e.<to>`. */
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `e.${from + i}`);

describe('createMemoryStore: ids and append', () => {
  it('assigns the ids <epoch>.1..n as strings', async () => {
    const store = storeOf();
    const stored = await appendMany(store, 12);
    expect(stored.map((e) => e.id)).toEqual(range(1, 12));
    for (const e of stored) expect(typeof e.id).toBe('string');
  });

  it('gives every store a new random epoch of 8 base-36 characters by default', async () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    const [a1, a2] = await appendMany(a, 2);
    const [b1] = await appendMany(b, 1);
    for (const id of [a1!.id, a2!.id, b1!.id]) expect(id).toMatch(/^[0-9a-z]{8}\.\d+$/);
    const epochOf = (id: string) => id.slice(0, id.indexOf('.'));
    expect(a1!.id).toBe(`${epochOf(a1!.id)}.1`);
    expect(a2!.id).toBe(`${epochOf(a1!.id)}.2`);
    expect(b1!.id).toBe(`${epochOf(b1!.id)}.1`);
    expect(epochOf(a1!.id)).not.toBe(epochOf(b1!.id));
    const epochs = new Set<string>();
    for (let i = 0; i < 50; i += 1)
      epochs.add(epochOf((await appendMany(createMemoryStore(), 1))[0]!.id));
    expect(epochs.size).toBe(50);
  });

  it('uses the epoch option as the prefix of its ids', async () => {
    const store = createMemoryStore({ epoch: 'Run42' });
    expect((await appendMany(store, 2)).map((e) => e.id)).toEqual(['Run42.1', 'Run42.2']);
    const longest = createMemoryStore({ epoch: 'z'.repeat(16) });
    expect((await append(longest, 'x')).id).toBe(`${'z'.repeat(16)}.1`);
  });

  it('calls encode once with the new id and keeps its bytes, with the message fields', async () => {
    const store = storeOf();
    await append(store, 'first');
    const bytes = encoder.encode('the encoded event');
    const encode = vi.fn((_id: string) => bytes);
    const stored = await store.append({ event: 'price', data: '{"v":1}', topic: 'acme' }, encode);
    expect(encode).toHaveBeenCalledTimes(1);
    expect(encode).toHaveBeenCalledWith('e.2');
    expect(stored).toEqual({ id: 'e.2', event: 'price', data: '{"v":1}', topic: 'acme', bytes });
    expect(stored.bytes).toBe(bytes);
    const replay = await since(store, 'e.1');
    expect(replay.events).toHaveLength(1);
    expect(replay.events[0]!.bytes).toBe(bytes);
    expect(decoder.decode(replay.events[0]!.bytes)).toBe('the encoded event');
  });

  it('uses no id for an event whose encode throws', async () => {
    const store = storeOf();
    await append(store, 'a');
    expect(() =>
      store.append({ event: undefined, data: 'x', topic: undefined }, () => {
        throw new Error('cannot encode');
      }),
    ).toThrow('cannot encode');
    const next = await append(store, 'b');
    expect(next.id).toBe('e.2');
    expect(ids(await since(store, 'e.0'))).toEqual(['e.1', 'e.2']);
  });
});

describe('createMemoryStore: since()', () => {
  it('returns the events after the given id, oldest first, complete', async () => {
    const store = storeOf();
    const stored = await appendMany(store, 5);
    const replay = await since(store, 'e.2');
    expect(replay.complete).toBe(true);
    expect(replay).not.toHaveProperty('gapReason');
    expect(ids(replay)).toEqual(range(3, 5));
    expect(replay.events.map((e) => e.data)).toEqual(['e3', 'e4', 'e5']);
    // The very objects append returned.
    expect(replay.events[0]).toBe(stored[2]);
    expect(await since(store, 'e.0')).toStrictEqual({ events: stored, complete: true });
  });

  it('returns nothing, complete, for the latest id', async () => {
    const store = storeOf();
    await appendMany(store, 5);
    expect(await since(store, 'e.5')).toStrictEqual({ events: [], complete: true });
  });

  it('returns nothing, complete, for <epoch>.0 on an empty store', async () => {
    const store = storeOf();
    expect(await since(store, 'e.0')).toStrictEqual({ events: [], complete: true });
  });

  it('keeps the last `limit` events as a ring', async () => {
    const store = storeOf({ limit: 3 });
    await appendMany(store, 5);
    const all = await since(store, 'e.0');
    expect(ids(all)).toEqual(range(3, 5));
    expect(all.complete).toBe(false); // 1 and 2 are gone
    expect(all.gapReason).toBe('not-retained');
  });

  it("reports an evicted range as incomplete, 'not-retained', with the retained events", async () => {
    const store = storeOf({ limit: 3 });
    const stored = await appendMany(store, 5);
    const replay = await since(store, 'e.1');
    expect(ids(replay)).toEqual(range(3, 5));
    expect(replay.complete).toBe(false); // 2 was evicted
    expect(replay).toStrictEqual({
      events: stored.slice(2),
      complete: false,
      gapReason: 'not-retained',
    });
  });

  it('is complete when the next event after the id is the oldest retained', async () => {
    const store = storeOf({ limit: 3 });
    await appendMany(store, 5);
    const replay = await since(store, 'e.2');
    expect(ids(replay)).toEqual(range(3, 5));
    expect(replay.complete).toBe(true);
    expect(replay).not.toHaveProperty('gapReason');
    expect(await since(store, 'e.4')).toMatchObject({ complete: true });
    expect(ids(await since(store, 'e.4'))).toEqual(['e.5']);
  });

  it('keeps the ring in order across many wrap-arounds', async () => {
    const store = storeOf({ limit: 4 });
    await appendMany(store, 23);
    expect(ids(await since(store, 'e.19'))).toEqual(range(20, 23));
    expect(ids(await since(store, 'e.21'))).toEqual(['e.22', 'e.23']);
    expect((await since(store, 'e.21')).events.map((e) => e.data)).toEqual(['e22', 'e23']);
  });

  it('works with limit 1', async () => {
    const store = storeOf({ limit: 1 });
    await appendMany(store, 3);
    expect(await since(store, 'e.2')).toMatchObject({ complete: true });
    expect(ids(await since(store, 'e.2'))).toEqual(['e.3']);
    expect(await since(store, 'e.1')).toMatchObject({ complete: false, gapReason: 'not-retained' });
  });

  it('keeps 1000 events by default', async () => {
    const store = storeOf();
    await appendMany(store, 1001);
    const fromStart = await since(store, 'e.0');
    expect(fromStart.complete).toBe(false);
    expect(fromStart.gapReason).toBe('not-retained');
    expect(fromStart.events).toHaveLength(1000);
    expect(fromStart.events[0]!.id).toBe('e.2');
    expect((await since(store, 'e.1')).complete).toBe(true);
  });

  it("reports a future id of its own epoch as incomplete, 'unknown-epoch', with every retained event", async () => {
    const store = storeOf();
    const stored = await appendMany(store, 5);
    expect(await since(store, 'e.6')).toStrictEqual({
      events: stored,
      complete: false,
      gapReason: 'unknown-epoch',
    });
    expect(ids(await since(store, 'e.9'))).toEqual(range(1, 5));
    expect(await since(storeOf(), 'e.1')).toStrictEqual({
      events: [],
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it("reports the id of another store with the same sequence number (a restart) as 'unknown-epoch'", async () => {
    const before = createMemoryStore(); // the store of the previous run of the process
    const lastSeen = (await appendMany(before, 3))[1]!.id; // its second event
    const after = createMemoryStore();
    const stored = await appendMany(after, 5); // this store has a second event too
    expect(lastSeen.endsWith('.2')).toBe(true);
    expect(stored[1]!.id.endsWith('.2')).toBe(true);
    expect(await since(after, lastSeen)).toStrictEqual({
      events: stored,
      complete: false,
      gapReason: 'unknown-epoch',
    });
    // Fixed epochs, likewise.
    const a = createMemoryStore({ epoch: 'a' });
    await appendMany(a, 3);
    expect(await since(a, 'b.2')).toMatchObject({ complete: false, gapReason: 'unknown-epoch' });
    expect(ids(await since(a, 'b.2'))).toEqual(['a.1', 'a.2', 'a.3']);
  });

  it.each([
    '2', // an id of the old format, without an epoch
    '0',
    'E.2', // epochs are case-sensitive
    'ee.2',
    '.2',
    'e',
    'e.',
    'e..2',
    'e.abc',
    'e.-1',
    'e.01',
    'e.1.5',
    ' e.1',
    'e.1 ',
    '',
    'e.1e2',
    'e.0x2',
    'e.99999999999999999999',
    'e.9007199254740993',
  ])(
    "reports the malformed or foreign id %j as incomplete, 'unknown-epoch', with every retained event",
    async (id) => {
      const store = storeOf({ limit: 3 });
      await appendMany(store, 5);
      const replay = await since(store, id);
      expect(replay.complete).toBe(false);
      expect(replay.gapReason).toBe('unknown-epoch');
      expect(ids(replay)).toEqual(range(3, 5));
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

  it.each<[unknown, string]>([
    ['a.b', '"a.b" (string)'],
    ['', '"" (string)'],
    ['z'.repeat(17), `"${'z'.repeat(17)}" (string)`],
    ['a-b', '"a-b" (string)'],
    ['a b', '"a b" (string)'],
    ['é', '"é" (string)'],
    [7, '7 (number)'],
    [true, 'true (boolean)'],
  ])(
    'rejects epoch %j with a TypeError naming createMemoryStore(options).epoch',
    (epoch, shown) => {
      const error = thrown(() => createMemoryStore({ epoch: epoch as string }));
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toBe(
        `createMemoryStore(options).epoch must be 1 to 16 letters and digits, received ${shown}`,
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
