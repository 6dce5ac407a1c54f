import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createMemoryStore, type ReplayResult } from '@sse-middleware/core';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startRedisServer } from '../../../scripts/redis-server.mjs';
import {
  adminClient,
  appendMany,
  collectTail,
  encodeWithId,
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

const epochOf = (id: string) => ID_SHAPE.exec(id)?.[1];
const entryOf = (id: string) => ID_SHAPE.exec(id)?.[2];

/** What a replay says, without the bytes: ids, completeness and why. */
const summary = (replay: ReplayResult) => ({
  ids: replay.events.map((e) => e.id),
  complete: replay.complete,
  gapReason: replay.gapReason,
});

describe('ids', () => {
  it('are <epoch>.<entry id>: one epoch for the stream, shared by every store, kept in each entry', async () => {
    const key = uniqueKey();
    const one = storeFor({ url: redis.current.url, key });
    const other = storeFor({ url: redis.current.url, key });
    const ids = [...(await appendMany(one, 2)), ...(await appendMany(other, 2))];
    for (const id of ids) expect(id).toMatch(ID_SHAPE);
    const epoch = epochOf(ids[0]!);
    expect(ids.map(epochOf)).toEqual([epoch, epoch, epoch, epoch]);
    const entries = await adminClient(redis.current.url).xrange(key, '-', '+');
    expect(entries).toEqual(
      ids.map((id, i) => [entryOf(id), ['data', `e${(i % 2) + 1}`, 'epoch', epoch]]),
    );
    // Replays and tails give the same ids.
    expect((await other.since(ids[0]!)).events.map((e) => e.id)).toEqual(ids.slice(1));
  });

  it('two streams have different epochs', async () => {
    const [a] = await appendMany(storeFor({ url: redis.current.url, key: uniqueKey() }), 1);
    const [b] = await appendMany(storeFor({ url: redis.current.url, key: uniqueKey() }), 1);
    expect(epochOf(a!)).not.toBe(epochOf(b!));
  });
});

describe('since: an id the stream never issued is an unknown epoch, answered with every retained event', () => {
  it('after the stream was deleted (DEL) and published to again', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const before = await appendMany(store, 3, 'old');
    await adminClient(redis.current.url).del(key);
    expect(summary(await store.since(before[2]!))).toEqual({
      ids: [],
      complete: false,
      gapReason: 'unknown-epoch',
    });
    const after = await appendMany(store, 2, 'new');
    expect(epochOf(after[0]!)).not.toBe(epochOf(before[0]!));
    expect(summary(await store.since(before[2]!))).toEqual({
      ids: after,
      complete: false,
      gapReason: 'unknown-epoch',
    });
    expect(summary(await store.since(after[0]!))).toEqual({
      ids: [after[1]],
      complete: true,
      gapReason: undefined,
    });
  });

  it('after FLUSHALL', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const [old] = await appendMany(store, 1, 'old');
    await adminClient(redis.current.url).flushall();
    const fresh = await appendMany(store, 2, 'new');
    expect(summary(await store.since(old!))).toEqual({
      ids: fresh,
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it('after Redis restarted empty (no persistence)', async () => {
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const key = uniqueKey();
    const store = storeFor({ url: own.url, key, whileDown: { waitMs: 10_000 } });
    const [old] = await appendMany(store, 1, 'old');
    await own.kill();
    rmSync(join(own.dir, 'appendonlydir'), { recursive: true, force: true });
    await own.restart();
    const fresh = await appendMany(store, 2, 'new');
    expect(summary(await store.since(old!))).toEqual({
      ids: fresh,
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it('for an id of another stream, even one that falls inside this stream’s ids', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const otherStore = storeFor({ url: redis.current.url, key: uniqueKey() });
    const first = await appendMany(store, 2);
    const [foreign] = await appendMany(otherStore, 1, 'other');
    const last = await appendMany(store, 2);
    expect(summary(await store.since(foreign!))).toEqual({
      ids: [...first, ...last],
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it('for an id from the future of this stream (Redis lost it, say)', async () => {
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    const ids = await appendMany(store, 2);
    const [ms] = entryOf(ids[1]!)!.split('-');
    const future = `${epochOf(ids[1]!)}.${BigInt(ms!) + 60_000n}-0`;
    expect(summary(await store.since(future))).toEqual({
      ids,
      complete: false,
      gapReason: 'unknown-epoch',
    });
    const next = `${epochOf(ids[1]!)}.${entryOf(ids[1]!)!.replace(/-\d+$/, '-99')}`;
    expect((await store.since(next)).gapReason).toBe('unknown-epoch');
  });

  it.each([
    ['garbage', 'abc'],
    ['a bare number', '42'],
    ['a bare entry id (the ids before epochs)', '1732412345678-0'],
    ['a missing sequence', 'mz3k9q2a.1732412345678-'],
    ['an epoch with capitals', 'MZ3K9Q2A.1-0'],
    ['an empty epoch', '.1-0'],
    ['spaces', ' mz3k9q2a.1-0'],
    ['an overflowing number', 'mz3k9q2a.18446744073709551616-0'],
  ])('for a malformed id (%s)', async (_, id) => {
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    const ids = await appendMany(store, 3);
    expect(summary(await store.since(id))).toEqual({
      ids,
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it('for an id of the in-memory store', async () => {
    const memory = createMemoryStore();
    const { id } = await memory.append(message('in memory'), encodeWithId);
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    const ids = await appendMany(store, 2);
    expect(summary(await store.since(id))).toEqual({
      ids,
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it('for any id when the stream does not exist', async () => {
    const store = storeFor({ url: redis.current.url, key: uniqueKey() });
    expect(summary(await store.since('mz3k9q2a.1732412345678-0'))).toEqual({
      ids: [],
      complete: false,
      gapReason: 'unknown-epoch',
    });
    expect((await store.since('0-0')).gapReason).toBe('unknown-epoch');
  });
});

describe('since: an id of this stream that is no longer retained', () => {
  it('older than the oldest retained entry (trimmed): not-retained, with what is retained', async () => {
    const store = storeFor({
      url: redis.current.url,
      key: uniqueKey(),
      trim: { maxLength: 3, exact: true },
    });
    const ids = await appendMany(store, 6);
    expect(summary(await store.since(ids[0]!))).toEqual({
      ids: ids.slice(3),
      complete: false,
      gapReason: 'not-retained',
    });
  });

  it('with an entry after it deleted (XDEL): not-retained', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const ids = await appendMany(store, 4);
    await adminClient(redis.current.url).xdel(key, entryOf(ids[2]!)!);
    expect(summary(await store.since(ids[0]!))).toEqual({
      ids: [ids[1], ids[3]],
      complete: false,
      gapReason: 'not-retained',
    });
  });
});

describe('the epoch', () => {
  it('stays when the stream is trimmed, even to its last entry', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key, trim: { maxLength: 1, exact: true } });
    const ids = await appendMany(store, 3);
    expect(new Set(ids.map(epochOf)).size).toBe(1);
    expect(summary(await store.since(ids[1]!))).toEqual({
      ids: [ids[2]],
      complete: false,
      gapReason: 'not-retained',
    });
    expect(summary(await store.since(ids[2]!))).toEqual({
      ids: [],
      complete: true,
      gapReason: undefined,
    });
  });

  it('an entry written without one (another program, an older version) has its bare entry id as SSE id, from which no replay resumes', async () => {
    const key = uniqueKey();
    const admin = adminClient(redis.current.url);
    const bare = (await admin.xadd(key, '*', 'data', 'bare')) as string;
    const store = storeFor({ url: redis.current.url, key });
    expect(summary(await store.since(bare))).toEqual({
      ids: [bare],
      complete: false,
      gapReason: 'unknown-epoch',
    });
    const [next] = await appendMany(store, 1);
    expect(next).toMatch(ID_SHAPE);
    expect(summary(await store.since(bare))).toEqual({
      ids: [bare, next],
      complete: false,
      gapReason: 'unknown-epoch',
    });
  });

  it('does not change for entries without one between ours', async () => {
    const key = uniqueKey();
    const admin = adminClient(redis.current.url);
    const store = storeFor({ url: redis.current.url, key });
    const [first] = await appendMany(store, 1);
    for (let i = 0; i < 3; i += 1) await admin.xadd(key, '*', 'data', `foreign ${i}`);
    // The last entry has no epoch: the stream's is that of the newest entry with one.
    expect((await store.since(first!)).complete).toBe(true);
    const [second] = await appendMany(store, 1);
    expect(epochOf(second!)).toBe(epochOf(first!));
    const replay = await store.since(first!);
    expect(replay.complete).toBe(true);
    expect(replay.events.map((e) => e.data)).toEqual(['foreign 0', 'foreign 1', 'foreign 2', 'e1']);
  });
});

describe('the tail across a new lifetime of the stream', () => {
  it('delivers the new stream’s events, with the new epoch, after DEL', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const tail = collectTail(store);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    const before = await appendMany(store, 2, 'old');
    await until(() => tail.events.length === 2, 'the first two events');
    await admin.del(key);
    const after = await appendMany(store, 2, 'new');
    await until(() => tail.events.length >= 4, 'the events of the new stream');
    expect(tail.ids()).toEqual([...before, ...after]);
    expect(epochOf(after[0]!)).not.toBe(epochOf(before[0]!));
  });

  it('after Redis restarted empty', async () => {
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const key = uniqueKey();
    const store = storeFor({ url: own.url, key, whileDown: { waitMs: 10_000 } });
    const tail = collectTail(store);
    await tailListening(adminClient(own.url), key);
    const before = await appendMany(store, 2, 'old');
    await until(() => tail.events.length === 2, 'the first two events');
    await own.kill();
    rmSync(join(own.dir, 'appendonlydir'), { recursive: true, force: true });
    await own.restart();
    const after = await appendMany(store, 2, 'new');
    await until(() => tail.events.length >= 4, 'the events of the new stream');
    expect(tail.ids()).toEqual([...before, ...after]);
    expect(tail.data()).toEqual(['old1', 'old2', 'new1', 'new2']);
  });

  it('even when the new stream’s ids are older than its position (a Redis whose clock is behind)', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key, blockMs: 200 });
    const tail = collectTail(store);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    // The old lifetime's last entry is a minute ahead of the clock of the Redis that follows.
    const ahead = `${Date.now() + 60_000}-0`;
    await admin.xadd(key, ahead, 'data', 'ahead', 'epoch', 'oldclock');
    await until(() => tail.events.length === 1, 'the entry ahead');
    expect(tail.data()).toEqual(['ahead']);
    await admin.del(key);
    const after = await appendMany(store, 3, 'new');
    await until(() => tail.events.length >= 4, 'the events of the new stream', 10_000);
    expect(tail.ids()).toEqual([`oldclock.${ahead}`, ...after]);
    // Then it follows the new stream from its end.
    const [later] = await appendMany(store, 1, 'later');
    await until(() => tail.events.length >= 5, 'the next event');
    expect(tail.ids().slice(4)).toEqual([later]);
    expect(store.reported).toEqual([]);
  });

  it('a replay on a process whose tail has not seen the new lifetime yet replays nothing twice', async () => {
    const key = uniqueKey();
    // The tail's connection comes back a second after it is lost: it stays behind meanwhile.
    const slowClient = new Redis(redis.current.url, { retryStrategy: () => 1000 });
    onTestFinished(() => slowClient.disconnect());
    const store = storeFor({ client: slowClient, key });
    const tail = collectTail(store);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    const [old] = await appendMany(store, 1, 'old');
    await until(() => tail.events.length === 1, 'the first event');
    await killTailConnection(admin, key);
    await admin.del(key);
    const fresh = await appendMany(storeFor({ url: redis.current.url, key }), 2, 'new');

    // A client that got the first new event elsewhere: the tail will deliver it, and the next.
    const ahead = await store.since(fresh[0]!);
    expect(tail.ids()).toEqual([old]); // still behind
    expect(summary(ahead)).toEqual({ ids: [], complete: true, gapReason: undefined });
    expect([old!, ...fresh].map((id) => ahead.alreadyDelivered?.(id))).toEqual([true, true, false]);
    // A client of the old lifetime: a gap, and the new events come from the tail, not twice.
    expect(summary(await store.since(old!))).toEqual({
      ids: [],
      complete: false,
      gapReason: 'unknown-epoch',
    });
    await until(() => tail.events.length >= 3, 'the tail to deliver the new stream');
    expect(tail.ids()).toEqual([old, ...fresh]);
  });
});
