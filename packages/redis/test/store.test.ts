import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  adminClient,
  appendMany,
  collectTail,
  compareIds,
  decode,
  encodeMessage,
  encodeWithId,
  entryIdOf,
  ID_SHAPE,
  killTailConnection,
  message,
  storeFor,
  tailListening,
  uniqueKey,
  until,
  useRedisServer,
} from './helpers.js';

const redis = useRedisServer();

describe('append', () => {
  it('XADDs the message with the stream’s epoch and answers with <epoch>.<entry id>, encoded with it', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const stored = await store.append(message('hello', { event: 'greeting', topic: 't' }), (id) =>
      encodeWithId(id),
    );
    const [, epoch, entryId] = ID_SHAPE.exec(stored.id) ?? [];
    expect(stored.id).toMatch(ID_SHAPE);
    expect(stored).toMatchObject({ event: 'greeting', data: 'hello', topic: 't' });
    expect(decode(stored.bytes)).toBe(`id: ${stored.id}\n\n`);
    const admin = adminClient(redis.current.url);
    expect(await admin.xrange(key, '-', '+')).toEqual([
      [entryId, ['data', 'hello', 'event', 'greeting', 'topic', 't', 'epoch', epoch]],
    ]);
  });

  it('stores a plain message as its data alone, and keeps text exactly (newlines, unicode)', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const data = 'line 1\nline 2\r\n→ ünïcödé 🎉';
    const { id } = await store.append(message(data), encodeWithId);
    expect(await adminClient(redis.current.url).xrange(key, '-', '+')).toEqual([
      [entryIdOf(id), ['data', data, 'epoch', id.split('.')[0]]],
    ]);
    const [replayed] = (await store.since('not an id')).events;
    expect(replayed).toMatchObject({ id, data, event: undefined, topic: undefined });
  });

  it('gives increasing ids: a valid SSE id, the same on every process', async () => {
    const key = uniqueKey();
    const one = storeFor({ url: redis.current.url, key });
    const other = storeFor({ url: redis.current.url, key });
    const ids = [
      ...(await appendMany(one, 3)),
      ...(await appendMany(other, 3)),
      ...(await appendMany(one, 3)),
    ];
    expect([...ids].sort(compareIds)).toEqual(ids);
    expect(new Set(ids).size).toBe(9);
    for (const id of ids) expect(id).not.toMatch(/[\r\n\0]/);
    const seenByOther = (await other.since('not an id')).events.map((e) => e.id);
    expect(seenByOther).toEqual(ids);
  });
});

describe('since', () => {
  it('replays after the given id, exclusively, and says it is complete', async () => {
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    const ids = await appendMany(store, 5);
    const replay = await store.since(ids[1]!);
    expect(replay.complete).toBe(true);
    expect(replay.events.map((e) => [e.id, e.data])).toEqual([
      [ids[2], 'e3'],
      [ids[3], 'e4'],
      [ids[4], 'e5'],
    ]);
    expect(decode(replay.events[0]!.bytes)).toBe(`id: ${ids[2]}\ndata: e3\n\n`);
  });

  it('answers the last id with nothing, complete', async () => {
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    const ids = await appendMany(store, 3);
    expect(await store.since(ids[2]!)).toEqual({ events: [], complete: true });
  });

  // Gaps (unknown epochs, trimmed and deleted entries) are in epoch.test.ts.

  it('skips an entry that is not an event (no data field) and reports it', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const [first] = await appendMany(store, 1);
    const foreign = (await adminClient(redis.current.url).xadd(key, '*', 'other', 'x')) as string;
    const [, last] = await appendMany(store, 2, 'after');
    const replay = await store.since(first!);
    expect(replay.events.map((e) => e.data)).toEqual(['after1', 'after2']);
    expect(replay.events.map((e) => e.id)).not.toContain(foreign);
    expect(last).toBeDefined();
    expect(store.reported.map((e) => e.message)).toEqual([
      `stream entry ${foreign} has no "data" field, so it is not an event: skipped`,
    ]);
  });
});

describe('trimming', () => {
  it('keeps about maxLength entries by default (MAXLEN ~): whole blocks are freed', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key, trim: { maxLength: 50 } });
    await Promise.all(
      Array.from({ length: 400 }, (_, i) => store.append(message(`${i}`), encodeWithId)),
    );
    const length = await adminClient(redis.current.url).xlen(key);
    expect(length).toBeGreaterThanOrEqual(50);
    expect(length).toBeLessThan(400);
  });

  it('keeps exactly maxLength entries with exact: true', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key, trim: { maxLength: 7, exact: true } });
    await appendMany(store, 30);
    expect(await adminClient(redis.current.url).xlen(key)).toBe(7);
  });

  it('keeps the 1000 latest by default', async () => {
    const key = uniqueKey();
    const admin = adminClient(redis.current.url);
    const pipeline = admin.pipeline();
    for (let i = 0; i < 1500; i += 1) pipeline.xadd(key, '*', 'data', String(i));
    await pipeline.exec();
    const store = storeFor({ url: redis.current.url, key });
    await appendMany(store, 1);
    const length = await admin.xlen(key);
    expect(length).toBeGreaterThanOrEqual(1000);
    expect(length).toBeLessThan(1200);
  });

  it('drops entries older than maxAgeMs (MINID)', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key, trim: { maxAgeMs: 300, exact: true } });
    const old = await appendMany(store, 3, 'old');
    await new Promise((resolve) => setTimeout(resolve, 450));
    const fresh = await appendMany(store, 2, 'fresh');
    const replay = await store.since(old[0]!);
    expect(replay.complete).toBe(false);
    expect(replay.events.map((e) => e.id)).toEqual(fresh);
  });
});

describe('tail', () => {
  it('delivers what every store appends, once, in stream order, encoded with its encoder', async () => {
    const key = uniqueKey();
    const a = storeFor({ url: redis.current.url, key });
    const b = storeFor({ url: redis.current.url, key });
    const tailA = collectTail(a);
    const tailB = collectTail(b);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      ids.push((await (i % 2 ? a : b).append(message(`m${i}`), encodeWithId)).id);
    }
    await until(() => tailA.events.length >= 20 && tailB.events.length >= 20, 'both tails');
    expect(tailA.ids()).toEqual(ids);
    expect(tailB.ids()).toEqual(ids);
    expect(decode(tailA.events[3]!.bytes)).toBe(`id: ${ids[3]}\ndata: m3\n\n`);
    expect(tailA.events[0]).toMatchObject({ event: undefined, topic: undefined, data: 'm0' });
  });

  it('starts at the end of the stream: what was there before is for replay, not the tail', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    await appendMany(store, 3, 'before');
    const tail = collectTail(store);
    await tailListening(adminClient(redis.current.url), key);
    const [after] = await appendMany(store, 1, 'after');
    await until(() => tail.events.length >= 1, 'the event after');
    expect(tail.ids()).toEqual([after]);
  });

  it('delivers events appended concurrently, each once, in the order Redis gave them', async () => {
    const key = uniqueKey();
    const stores = [0, 1, 2].map(() => storeFor({ url: redis.current.url, key }));
    const tail = collectTail(stores[0]!);
    await tailListening(adminClient(redis.current.url), key);
    const appended = await Promise.all(
      Array.from({ length: 300 }, (_, i) => stores[i % 3]!.append(message(`c${i}`), encodeWithId)),
    );
    await until(() => tail.events.length >= 300, '300 events', 10_000);
    expect(tail.ids()).toEqual(appended.map((e) => e.id).sort(compareIds));
  });

  it('skips and reports an entry that is not an event, and goes on', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const tail = collectTail(store);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    await admin.xadd(key, '*', 'not-data', 'x');
    await admin.xadd(key, '*', 'data', 'ok', 'event', 'bad\nname');
    const [good] = await appendMany(store, 1, 'good');
    await until(() => tail.events.length >= 1, 'the good event');
    expect(tail.ids()).toEqual([good]);
    expect(store.reported.map((e) => e.message)).toEqual([
      expect.stringMatching(/has no "data" field, so it is not an event: skipped$/),
      expect.stringMatching(/cannot be sent as an event \(.*\): skipped$/),
    ]);
  });

  it('a throwing subscriber callback is reported and does not stop the tail', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const seen: string[] = [];
    const stop = store.tail((stored) => {
      seen.push(stored.data);
      if (stored.data === 'boom') throw new Error('subscriber failed');
    }, encodeMessage);
    await tailListening(adminClient(redis.current.url), key);
    await store.append(message('boom'), encodeWithId);
    await store.append(message('next'), encodeWithId);
    await until(() => seen.length >= 2, 'both events');
    stop();
    expect(seen).toEqual(['boom', 'next']);
    expect(store.reported[0]?.message).toMatch(/^delivering [0-9a-z]{8}\.\d+-\d+ failed$/);
  });

  it('feeds one channel: a second tail on the same store is refused', async () => {
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    const stop = store.tail(() => {}, encodeMessage);
    expect(() => store.tail(() => {}, encodeMessage)).toThrow(
      /already has a tail: a store feeds one channel, so create one store per channel/,
    );
    stop();
    const again = store.tail(() => {}, encodeMessage);
    again();
  });

  it('replays only up to what the tail delivered, so a subscriber joining mid-stream gets each event once', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const tail = collectTail(store);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    const [first] = await appendMany(store, 1);
    await until(() => tail.events.length === 1, 'the first event');
    // The tail loses its connection (it reconnects after 50 ms at least); meanwhile another
    // process appends, and a subscriber asks for its replay.
    await killTailConnection(admin, key);
    const [late] = await appendMany(storeFor({ url: redis.current.url, key }), 1, 'late');
    const replay = await store.since(first!);
    expect(replay).toEqual({ events: [], complete: true });
    await until(() => tail.ids().includes(late!), 'the tail to deliver it');
    expect(tail.ids()).toEqual([first, late]);
  });
  it('marks a Last-Event-ID ahead of the tail (the client got it elsewhere) as delivered, and replays nothing', async () => {
    const key = uniqueKey();
    // The tail's connection comes back a second after it is lost: the tail stays behind meanwhile.
    const slowClient = new Redis(redis.current.url, { retryStrategy: () => 1000 });
    onTestFinished(() => slowClient.disconnect());
    const store = storeFor({ client: slowClient, key });
    const tail = collectTail(store);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    const [first] = await appendMany(store, 1);
    await until(() => tail.events.length === 1, 'the first event');
    await killTailConnection(admin, key);
    const other = storeFor({ url: redis.current.url, key });
    const ahead = await appendMany(other, 2, 'a');
    const replay = await store.since(ahead[1]!);
    expect(tail.ids()).toEqual([first]); // still behind
    expect(replay.events).toEqual([]);
    expect(replay.complete).toBe(true);
    expect([first!, ...ahead].map((id) => replay.alreadyDelivered?.(id))).toEqual([
      true,
      true,
      true,
    ]);
    await until(() => tail.events.length === 3, 'the tail to catch up');
    const [next] = await appendMany(other, 1, 'next');
    expect(replay.alreadyDelivered?.(next!)).toBe(false);
    expect(replay.alreadyDelivered?.('not an id')).toBe(false);
    // A client the tail is not behind of needs no such check.
    expect((await store.since(ahead[0]!)).alreadyDelivered).toBeUndefined();
  });

  it('an append made as the tail starts waits for it, so the tail delivers that event too', async () => {
    const key = uniqueKey();
    const client = adminClient(redis.current.url);
    await client.ping(); // appends go out at once; the tail still has to connect
    const store = storeFor({ client, key });
    const tail = collectTail(store);
    const [id] = await appendMany(store, 1);
    await until(() => tail.events.length === 1, 'the tail to deliver the event', 5000);
    expect(tail.ids()).toEqual([id]);
  });
});

describe('with an ioredis client of yours', () => {
  it('publishes and replays through it, tails through a duplicate, and leaves it open', async () => {
    const key = uniqueKey();
    const client = adminClient(redis.current.url);
    const store = storeFor({ client, key });
    const tail = collectTail(store);
    await tailListening(client, key);
    const ids = await appendMany(store, 2);
    await until(() => tail.events.length === 2, 'two events');
    expect(tail.ids()).toEqual(ids);
    tail.stop();
    await store.close();
    expect(client.status).toBe('ready');
    expect(await client.xlen(key)).toBe(2);
  });
});
