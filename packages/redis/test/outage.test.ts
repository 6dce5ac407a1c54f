import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../scripts/redis-server.mjs';
import { RedisUnavailableError } from '../src/index.js';
import {
  adminClient,
  appendMany,
  collectTail,
  encodeWithId,
  ID_SHAPE,
  killTailConnection,
  message,
  storeFor,
  streamEventIds,
  tailListening,
  uniqueKey,
  until,
} from './helpers.js';

/** A redis-server of the test's own, since the test kills and restarts it. */
async function ownRedis(): Promise<RedisServer> {
  const server = await startRedisServer();
  onTestFinished(() => server.stop());
  return server;
}

/** Resolves with what `promise` rejected with, failing the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but it resolved');
}

describe('a Redis the tests restart', () => {
  it("listens outside the kernel's ephemeral port range, so no reconnecting client can take its port while it is down", async () => {
    // While Redis is down its clients reconnect to its port; inside this range, one of them can
    // be given that very port as its source port (TCP connects to itself) and hold it.
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    for (let i = 0; i < 8; i += 1) {
      const redis = await ownRedis();
      expect(redis.port < low! || redis.port > high!, `port ${redis.port} in ${low}-${high}`).toBe(
        true,
      );
    }
  });
});

describe('while Redis is down', () => {
  it('publishing and replaying fail at once with a RedisUnavailableError (the default)', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key });
    const [first] = await appendMany(store, 1);
    await redis.kill();

    // The first attempt may be the one that finds the connection gone.
    const racing = await rejection(store.append(message('lost'), encodeWithId));
    expect(racing).toBeInstanceOf(RedisUnavailableError);
    expect(racing.message).toMatch(new RegExp(`^cannot publish to "${key}": `));

    const started = performance.now();
    const known = await rejection(store.append(message('refused'), encodeWithId));
    // At once: not after a wait for Redis (which would last the 10 s connect timeout).
    expect(performance.now() - started).toBeLessThan(1000);
    expect(known).toBeInstanceOf(RedisUnavailableError);
    expect(known.name).toBe('RedisUnavailableError');
    expect(known.message).toMatch(
      new RegExp(`^cannot publish to "${key}": Redis is unreachable \\(.+\\)$`),
    );
    expect(known.cause).toBeInstanceOf(Error);

    const replay = await rejection(store.since(first!));
    expect(replay).toBeInstanceOf(RedisUnavailableError);
    expect(replay.message).toMatch(new RegExp(`^cannot replay "${key}": Redis is unreachable`));
  });

  it('the tail reports the outage once and resumes after the last event it delivered: no gap, no duplicate', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key });
    const tail = collectTail(store);
    await tailListening(adminClient(redis.url), key);
    const before = await appendMany(store, 3, 'before');
    await until(() => tail.events.length === 3, 'the first three events');

    await redis.kill();
    await until(() => store.reported.length > 0, 'the tail to report the outage');
    await redis.restart();
    // Another process publishes as soon as Redis is back, likely before this tail has reconnected.
    const publisher = storeFor({ url: redis.url, key, whileDown: { waitMs: 10_000 } });
    const after = await appendMany(publisher, 3, 'after');

    await until(() => tail.events.length >= 6, 'the three events published after the restart');
    expect(tail.ids()).toEqual([...before, ...after]);
    expect(tail.data()).toEqual(['before1', 'before2', 'before3', 'after1', 'after2', 'after3']);
    expect(store.reported.map((e) => e.message)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the tail of "${key}" lost Redis \\(.+\\); it resumes after ${before[2]} once Redis is back$`,
        ),
      ),
    ]);
  });

  it('events appended while the tail was reconnecting reach it, each once, in order', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key });
    const tail = collectTail(store);
    const admin = adminClient(redis.url);
    await tailListening(admin, key);
    const first = await appendMany(store, 2, 'first');
    await until(() => tail.events.length === 2, 'two events');
    for (let round = 0; round < 3; round += 1) {
      await killTailConnection(admin, key);
      await appendMany(store, 5, `round${round}-`);
      await tailListening(admin, key);
    }
    await until(() => tail.events.length >= 17, '17 events');
    const all = await streamEventIds(admin, key);
    expect(all.slice(0, 2)).toEqual(first);
    expect(tail.ids()).toEqual(all);
  });

  it('a Redis that stops answering (SIGSTOP) is taken as dead after blockMs + 2 s, and the tail resumes once it answers', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key, blockMs: 200 });
    const tail = collectTail(store);
    await tailListening(adminClient(redis.url), key);
    const before = await appendMany(store, 2, 'before');
    await until(() => tail.events.length === 2, 'the first two events');

    const frozenAt = performance.now();
    process.kill(redis.pid!, 'SIGSTOP');
    try {
      // The socket stays open and silent, as with a peer gone without a word.
      await until(() => store.reported.length > 0, 'the tail to give up on it', 15_000);
    } finally {
      process.kill(redis.pid!, 'SIGCONT');
    }
    expect(performance.now() - frozenAt).toBeGreaterThanOrEqual(2000);
    expect(store.reported[0]!.message).toMatch(
      new RegExp(
        `^the tail of "${key}" lost Redis \\(Socket timeout\\. .*\\); it resumes after ${before[1]} once Redis is back$`,
      ),
    );

    const after = await appendMany(store, 2, 'after');
    await until(() => tail.events.length >= 4, 'the events published after');
    expect(tail.ids()).toEqual([...before, ...after]);
  });

  it('with whileDown { waitMs }, publishing waits for Redis to come back', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key, whileDown: { waitMs: 10_000 } });
    const tail = collectTail(store);
    await tailListening(adminClient(redis.url), key);
    await appendMany(store, 1);
    await redis.kill();
    await until(() => store.reported.length > 0, 'the outage to be noticed');
    const publishing = store.append(message('during the outage'), encodeWithId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis.restart();
    const { id } = await publishing;
    await until(() => tail.ids().includes(id), 'the event published during the outage');
    expect(tail.data()).toEqual(['e1', 'during the outage']);
  });

  it('with whileDown { waitMs }, publishing rejects after waitMs if Redis stays down', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key, whileDown: { waitMs: 300 } });
    await appendMany(store, 1);
    await redis.kill();
    // The first attempt is the one that may find the connection gone; then the store knows.
    await rejection(store.append(message('x'), encodeWithId));
    const started = performance.now();
    const error = await rejection(store.append(message('waits'), encodeWithId));
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(5000);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(
      new RegExp(
        `^cannot publish to "${key}": Redis is unreachable after waiting 300 ms \\(.+\\)$`,
      ),
    );
  });

  it('a store whose Redis was never reachable fails its first publish with the connection error', async () => {
    const redis = await startRedisServer();
    await redis.stop();
    const store = storeFor({ url: redis.url, key: uniqueKey() });
    const error = await rejection(store.append(message('x'), encodeWithId));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(/Redis is unreachable \(.*ECONNREFUSED.*\)$/);
  });
});

describe('durability', () => {
  it('every acknowledged event survives a Redis crash (appendfsync always)', async () => {
    const redis = await ownRedis();
    const key = uniqueKey();
    const store = storeFor({ url: redis.url, key });
    const acknowledged = await appendMany(store, 50);
    await redis.kill();
    await redis.restart();
    const admin = adminClient(redis.url);
    expect(await streamEventIds(admin, key)).toEqual(acknowledged);
  });

  it('the first publish waits for the first connection: starting up is not an outage', async () => {
    const redis = await ownRedis();
    const store = storeFor({ url: redis.url, key: uniqueKey() });
    const { id } = await store.append(message('at once'), encodeWithId);
    expect(id).toMatch(ID_SHAPE);
  });
});
