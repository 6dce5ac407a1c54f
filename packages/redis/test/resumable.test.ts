import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type ChunkSource,
  createResumableStreams,
  type ResumableStreams,
  type ResumableStreamsOptions,
} from '@sse-middleware/core';
import { createRequestView } from '@sse-middleware/core/adapter';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  createRedisResumableStore,
  type RedisResumableStore,
  RedisUnavailableError,
} from '../src/index.js';
import { adminClient, until, useRedisServer } from './helpers.js';

const redis = useRedisServer();

let ids = 0;
/** A stream id of its own for each use, with the characters an id may have. */
function uniqueId(): string {
  ids += 1;
  return `chat:${process.pid}/${ids}:ü`;
}

let prefixes = 0;
/** A prefix of its own for a test that looks at keys or connections. */
function uniquePrefix(): string {
  prefixes += 1;
  return `test-resumable:${process.pid}:${prefixes}`;
}

/** A store closed when the test finishes. */
function storeFor(options: { prefix?: string; client?: Redis } = {}): RedisResumableStore {
  const store = createRedisResumableStore(
    options.client ? options : { url: redis.current.url, ...options },
  );
  onTestFinished(() => store.close());
  return store;
}

/** One "process": a store of its own (two connections) and the streams on it. */
function processWith(
  options: Omit<ResumableStreamsOptions, 'store'> = {},
  prefix?: string,
): { store: RedisResumableStore; streams: ResumableStreams } {
  const store = createRedisResumableStore({
    url: redis.current.url,
    ...(prefix ? { prefix } : {}),
  });
  const streams = createResumableStreams({ store, ...options });
  onTestFinished(async () => {
    await streams.close();
    await store.close();
  });
  return { store, streams };
}

/** A promise and how to settle it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

interface Received {
  readonly id: string;
  readonly event?: string;
  readonly data: string;
}

/** Parses one event as `encodeEvent` writes it. */
function parseEvent(chunk: Uint8Array): Received {
  let id = '';
  let event: string | undefined;
  const data: string[] = [];
  for (const line of decoder.decode(chunk).split('\n')) {
    // Ids are `<epoch>.<seq>`: what the tests compare is the seq.
    if (line.startsWith('id: ')) id = line.slice(4).replace(/^[0-9a-z]+\./, '');
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
    else if (line === 'data:') data.push('');
  }
  return event === undefined ? { id, data: data.join('\n') } : { id, event, data: data.join('\n') };
}

/**
 * Follows a source as the engine does, with a signal of our own: `onEvent` may return `'drop'`
 * to leave (the client's connection drops). Resolves with what arrived, and whether it ended.
 */
async function follow(
  source: ChunkSource,
  lastEventId?: string,
  onEvent: (event: Received, index: number) => 'drop' | undefined = () => undefined,
): Promise<{ events: Received[]; ended: boolean }> {
  const controller = new AbortController();
  const req = createRequestView({
    method: 'GET',
    url: '/',
    headers: lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
  });
  const events: Received[] = [];
  const iterable = source(req, { signal: controller.signal, lastEventId });
  for await (const chunk of iterable as AsyncIterable<Uint8Array>) {
    const event = parseEvent(chunk);
    events.push(event);
    if (onEvent(event, events.length - 1) === 'drop') {
      controller.abort();
      return { events, ended: false };
    }
  }
  return { events, ended: true };
}

/** Resumes `id` on `streams` and follows it to its end. */
async function resumeAll(streams: ResumableStreams, id: string, lastEventId?: string) {
  const answer = await streams.resume(id, lastEventId);
  if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status}`);
  return follow(answer.source, lastEventId);
}

/** The names of this Redis's connections that start with `start`. */
async function connectionNames(admin: Redis, start: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return [...list.matchAll(/ name=(\S+) /g)]
    .map((match) => match[1]!)
    .filter((name) => name.startsWith(start));
}

describe('createRedisResumableStore: the ResumableStore semantics', () => {
  it('creates a stream once: false when it exists', async () => {
    const store = storeFor();
    const id = uniqueId();
    expect(await store.create(id, 60_000, 'e1')).toBe(true);
    expect(await store.create(id, 60_000, 'e1')).toBe(false);
    expect(await storeFor().create(id, 60_000, 'e1')).toBe(false);
    expect(await store.read(id, 0)).toEqual({
      events: [],
      outcome: undefined,
      lastSeq: 0,
      epoch: 'e1',
    });
  });

  it('numbers events from 1 and reads those after a seq, with lastSeq', async () => {
    const store = storeFor();
    const id = uniqueId();
    await store.create(id, 60_000, 'e1');
    const data = 'line 1\nline 2\r\n→ ünïcödé 🎉';
    await store.append(id, { seq: 1, data: 'a' });
    await store.append(id, { seq: 2, event: 'token', data });
    await store.append(id, { seq: 3, event: '', data: '' });
    const all = [
      { seq: 1, data: 'a' },
      { seq: 2, event: 'token', data },
      { seq: 3, event: '', data: '' },
    ];
    expect(await store.read(id, 0)).toEqual({
      events: all,
      outcome: undefined,
      lastSeq: 3,
      epoch: 'e1',
    });
    expect((await store.read(id, 0))!.events[0]).not.toHaveProperty('event');
    expect(await store.read(id, 1)).toEqual({
      events: all.slice(1),
      outcome: undefined,
      lastSeq: 3,
      epoch: 'e1',
    });
    expect((await store.read(id, 3))!.events).toEqual([]);
    expect(await store.read(id, 10)).toEqual({
      events: [],
      outcome: undefined,
      lastSeq: 3,
      epoch: 'e1',
    });
    expect((await store.read(id, -5))!.events).toEqual(all);
    expect((await store.read(id, 1.5))!.events).toEqual(all.slice(1));
    expect((await store.read(id, Number.NaN))!.events).toEqual(all);
  });

  it('finishes once: appends and finishes after the end are ignored', async () => {
    const store = storeFor();
    const id = uniqueId();
    await store.create(id, 60_000, 'e1');
    await store.append(id, { seq: 1, data: 'a' });
    await store.finish(id, 'stopped');
    await store.append(id, { seq: 2, data: 'late' });
    await store.finish(id, 'completed');
    expect(await store.read(id, 0)).toEqual({
      events: [{ seq: 1, data: 'a' }],
      outcome: 'stopped',
      lastSeq: 1,
      epoch: 'e1',
    });
  });

  it('reads undefined for a stream that does not exist, and appending does not create it', async () => {
    const store = storeFor();
    const id = uniqueId();
    expect(await store.read(id, 0)).toBeUndefined();
    await store.append(id, { seq: 1, data: 'a' });
    await store.finish(id, 'completed');
    expect(await store.read(id, 0)).toBeUndefined();
    expect(await store.requestStop(id)).toBe(false);
  });

  it('ignores an append resent with the same seq, and refuses one that skips', async () => {
    const store = storeFor();
    const id = uniqueId();
    await store.create(id, 60_000, 'e1');
    await store.append(id, { seq: 1, data: 'a' });
    await store.append(id, { seq: 1, data: 'a again' });
    await expect(store.append(id, { seq: 3, data: 'c' })).rejects.toThrow(/3 does not follow 1/);
    expect(await store.read(id, 0)).toEqual({
      events: [{ seq: 1, data: 'a' }],
      outcome: undefined,
      lastSeq: 1,
      epoch: 'e1',
    });
  });

  it('keeps both keys of a stream until ttlMs after the create, then reads undefined', async () => {
    const prefix = uniquePrefix();
    const store = storeFor({ prefix });
    const admin = adminClient(redis.current.url);
    const id = uniqueId();
    await store.create(id, 400, 'e1');
    await store.append(id, { seq: 1, data: 'a' });
    const metaTtl = await admin.pttl(`${prefix}:meta:${id}`);
    const eventsTtl = await admin.pttl(`${prefix}:events:${id}`);
    expect(metaTtl).toBeGreaterThan(0);
    expect(metaTtl).toBeLessThanOrEqual(400);
    expect(eventsTtl).toBeGreaterThan(0);
    expect(Math.abs(eventsTtl - metaTtl)).toBeLessThan(50);
    expect(await admin.xrange(`${prefix}:events:${id}`, '-', '+')).toEqual([['0-1', ['d', 'a']]]);
    await sleep(500);
    expect(await store.read(id, 0)).toBeUndefined();
    expect(await admin.exists(`${prefix}:meta:${id}`, `${prefix}:events:${id}`)).toBe(0);
    // The id is free again, and the new stream starts empty.
    expect(await store.create(id, 60_000, 'e1')).toBe(true);
    expect(await store.read(id, 0)).toEqual({
      events: [],
      outcome: undefined,
      lastSeq: 0,
      epoch: 'e1',
    });
  });

  it('keeps ids apart whatever they contain (an id ending like a key of another)', async () => {
    const store = storeFor();
    const id = uniqueId();
    await store.create(id, 60_000, 'e1');
    await store.create(`${id}:meta`, 60_000, 'e1');
    await store.append(id, { seq: 1, data: 'a' });
    await store.append(`${id}:meta`, { seq: 1, data: 'b' });
    expect((await store.read(id, 0))!.events).toEqual([{ seq: 1, data: 'a' }]);
    expect((await store.read(`${id}:meta`, 0))!.events).toEqual([{ seq: 1, data: 'b' }]);
  });

  it('watch: tells every watcher, on every store, of each append and the finish', async () => {
    const producer = storeFor();
    const other = storeFor();
    const id = uniqueId();
    await producer.create(id, 60_000, 'e1');
    const local: number[] = [];
    const remote: number[] = [];
    const readOnChange = (store: RedisResumableStore, seen: number[]) => () => {
      void store.read(id, 0).then((page) => seen.push(page!.lastSeq + (page!.outcome ? 100 : 0)));
    };
    const unwatchLocal = producer.watch(id, readOnChange(producer, local));
    const unwatchRemote = other.watch(id, readOnChange(other, remote));
    // Each watcher is called once its subscription holds: from then on nothing is missed.
    await until(() => local.length > 0 && remote.length > 0, 'the subscriptions');
    await producer.append(id, { seq: 1, data: 'a' });
    await until(() => remote.includes(1), 'the append on the other store');
    await producer.finish(id, 'completed');
    await until(() => remote.includes(101) && local.includes(101), 'the finish on both');
    unwatchLocal();
    unwatchRemote();
    const counts = [local.length, remote.length];
    await producer.create(`${id}-2`, 60_000, 'e1');
    await sleep(100);
    expect([local.length, remote.length]).toEqual(counts);
  });

  it('watch: opens one subscriber connection, at the first watch, and closes it', async () => {
    const prefix = uniquePrefix();
    const admin = adminClient(redis.current.url);
    const store = createRedisResumableStore({ url: redis.current.url, prefix });
    const id = uniqueId();
    await store.create(id, 60_000, 'e1');
    expect(await connectionNames(admin, `sse-resumable`)).toEqual(
      expect.not.arrayContaining([`sse-resumable-sub:${prefix}`]),
    );
    let calls = 0;
    const stops = [
      store.watch(id, () => (calls += 1)),
      store.watch(`${id}-b`, () => {}),
      store.onStopRequest(id, () => {}),
    ];
    await until(() => calls > 0, 'the subscription');
    const names = await connectionNames(admin, 'sse-resumable');
    expect(names.filter((name) => name.endsWith(`:${prefix}`)).sort()).toEqual([
      `sse-resumable-sub:${prefix}`,
      `sse-resumable:${prefix}`,
    ]);
    const channels = () => admin.call('PUBSUB', 'CHANNELS', `${prefix}:*`) as Promise<string[]>;
    expect((await channels()).sort()).toEqual(
      [`${prefix}:changed:${id}`, `${prefix}:changed:${id}-b`, `${prefix}:stop:${id}`].sort(),
    );
    for (const stop of stops) stop();
    await until(async () => (await channels()).length === 0, 'the unsubscriptions');
    await store.close();
    await until(
      async () => (await connectionNames(admin, 'sse-resumable')).every((n) => !n.endsWith(prefix)),
      'the connections to close',
    );
  });

  it('watch: after the subscriber reconnects, every watcher is called and messages flow again', async () => {
    const prefix = uniquePrefix();
    const producer = storeFor({ prefix });
    const follower = storeFor({ prefix });
    const admin = adminClient(redis.current.url);
    const id = uniqueId();
    await producer.create(id, 60_000, 'e1');
    let calls = 0;
    follower.watch(id, () => (calls += 1));
    await until(() => calls === 1, 'the subscription');
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const [subscriber] = list
      .split('\n')
      .filter((line) => line.includes(` name=sse-resumable-sub:${prefix} `))
      .map((line) => /^id=(\d+) /.exec(line)![1]!);
    await admin.call('CLIENT', 'KILL', 'ID', subscriber!);
    await until(() => calls === 2, 'the call after the resubscribe');
    await producer.append(id, { seq: 1, data: 'a' });
    await until(() => calls === 3, 'the append after the reconnect');
  });

  it('watch: tells watchers when the stream expires', async () => {
    const store = storeFor();
    const id = uniqueId();
    await store.create(id, 300, 'e1');
    let calls = 0;
    store.watch(id, () => (calls += 1));
    await until(() => calls === 1, 'the subscription');
    await until(() => calls === 2, 'the expiry', 2000);
    expect(await store.read(id, 0)).toBeUndefined();
  });

  it('requestStop: true for a running stream, and its producer’s store hears it', async () => {
    const producer = storeFor();
    const other = storeFor();
    const id = uniqueId();
    await producer.create(id, 60_000, 'e1');
    let stops = 0;
    let watching = 0;
    producer.onStopRequest(id, () => (stops += 1));
    // Once a watch on the same store is subscribed, so is the stop request listener before it.
    producer.watch(id, () => (watching += 1));
    await until(() => watching > 0, 'the subscriptions');
    expect(await other.requestStop(id)).toBe(true);
    await until(() => stops === 1, 'the stop request');
    await producer.finish(id, 'stopped');
    expect(await other.requestStop(id)).toBe(false);
    expect(await other.requestStop(uniqueId())).toBe(false);
  });

  it('requestStop: a stop asked for before the producer listens still reaches it', async () => {
    const producer = storeFor();
    const other = storeFor();
    const id = uniqueId();
    await producer.create(id, 60_000, 'e1');
    expect(await other.requestStop(id)).toBe(true);
    let stops = 0;
    producer.onStopRequest(id, () => (stops += 1));
    await until(() => stops === 1, 'the stop request');
  });
});

describe('createRedisResumableStore: options and connections', () => {
  it('refuses bad options with a TypeError naming them', () => {
    const url = redis.current.url;
    const create = (options: unknown) =>
      createRedisResumableStore(options as Parameters<typeof createRedisResumableStore>[0]);
    expect(() => create({ url, ttl: 5 })).toThrow(TypeError);
    expect(() => create({ url, ttl: 5 })).toThrow(/createRedisResumableStore\(options\)\.ttl/);
    expect(() => create({})).toThrow(/either `url` or `client`/);
    expect(() => create({ url, client: new Redis({ lazyConnect: true }) })).toThrow(TypeError);
    expect(() => create({ url: 'http://x' })).toThrow(/options\)\.url.*redis:\/\//);
    expect(() => create({ url, prefix: '' })).toThrow(/options\)\.prefix/);
    expect(() => create({ url, prefix: 'a b' })).toThrow(/options\)\.prefix/);
    expect(() => create({ url, prefix: 5 })).toThrow(/options\)\.prefix/);
    expect(() => create('redis://x')).toThrow(TypeError);
    expect(() => create({ client: {} })).toThrow(/options\)\.client/);
  });

  it('refuses a ttlMs that is not a positive integer', async () => {
    const store = storeFor();
    await expect(store.create(uniqueId(), 0, 'e1')).rejects.toThrow(TypeError);
    await expect(store.create(uniqueId(), 1.5, 'e1')).rejects.toThrow(/ttlMs/);
  });

  it('uses a given client without closing it, and listens through a duplicate', async () => {
    const client = new Redis(redis.current.url);
    onTestFinished(() => {
      client.disconnect();
    });
    const store = createRedisResumableStore({ client });
    const other = storeFor();
    const id = uniqueId();
    expect(await store.create(id, 60_000, 'e1')).toBe(true);
    let calls = 0;
    store.watch(id, () => (calls += 1));
    await until(() => calls === 1, 'the subscription');
    await other.append(id, { seq: 1, data: 'a' });
    await until(() => calls === 2, 'the append');
    await store.close();
    expect(client.status).toBe('ready');
    expect(await client.exists(`sse:resumable:meta:${id}`)).toBe(1);
  });

  it('rejects with a RedisUnavailableError when Redis cannot be reached', async () => {
    const store = createRedisResumableStore({ url: 'redis://127.0.0.1:1' });
    onTestFinished(() => store.close());
    const error = await store.read('x', 0).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as Error).message).toMatch(/^cannot read "x": Redis is unreachable/);
  });

  it('refuses to work once closed', async () => {
    const store = createRedisResumableStore({ url: redis.current.url });
    await store.close();
    await expect(store.read('x', 0)).rejects.toThrow(/closed/);
    expect(() => store.watch('x', () => {})).toThrow(/closed/);
    await store.close();
  });
});

const killedFixture = fileURLToPath(new URL('./fixtures/producer-killed.ts', import.meta.url));

describe('createResumableStreams on two processes sharing Redis', () => {
  it('produces on A, resumes on B from a Last-Event-ID: the missed events, the live rest, the end', async () => {
    const a = processWith();
    const b = processWith();
    const id = uniqueId();
    const firstFive = deferred();
    const rest = deferred();
    const started = await a.streams.start(id, async function* () {
      for (let i = 1; i <= 5; i += 1) yield { event: 'token', data: `t${i}` };
      firstFive.resolve();
      await rest.promise;
      for (let i = 6; i <= 10; i += 1) yield `t${i}`;
    });
    await firstFive.promise;
    await until(async () => (await a.store.read(id, 0))?.lastSeq === 5, 'the first five');
    const answer = await b.streams.resume(id, `${started.epoch}.2`);
    expect(answer.status).toBe(200);
    const followed = follow(answer.source!, `${started.epoch}.2`, (_event, index) => {
      if (index === 2) rest.resolve();
      return undefined;
    });
    const { events, ended } = await followed;
    expect(ended).toBe(true);
    expect(events).toEqual([
      { id: '3', event: 'token', data: 't3' },
      { id: '4', event: 'token', data: 't4' },
      { id: '5', event: 'token', data: 't5' },
      ...[6, 7, 8, 9, 10].map((i) => ({ id: String(i), data: `t${i}` })),
    ]);
    expect(await started.done).toBe('completed');
  });

  it('stop on B stops the producer on A (outcome stopped), and B’s follower ends', async () => {
    const a = processWith();
    const b = processWith();
    const id = uniqueId();
    let producerSignal: AbortSignal | undefined;
    const started = await a.streams.start(id, async function* (signal) {
      producerSignal = signal;
      yield 'first';
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    });
    const answer = await b.streams.resume(id);
    const followed = follow(answer.source!);
    await until(async () => (await b.store.read(id, 0))?.lastSeq === 1, 'the first event');
    expect(b.streams.running).toBe(0);
    expect(await b.streams.stop(id)).toBe(true);
    expect(await started.done).toBe('stopped');
    expect(producerSignal?.aborted).toBe(true);
    expect(a.streams.running).toBe(0);
    expect(await followed).toEqual({ events: [{ id: '1', data: 'first' }], ended: true });
    expect(await b.streams.stop(id)).toBe(false);
  });

  it('a producer killed mid-stream is found abandoned at its lease: followers end, then 204', async () => {
    const prefix = `sse-test:killed:${uniqueId()}`;
    const id = uniqueId();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', killedFixture, redis.current.url, prefix, id, '300'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await until(async () => output.includes('producing'), 'the producer to start', 30_000);
    const b = processWith({ leaseMs: 300 }, prefix);
    const answer = await b.streams.resume(id);
    expect(answer.status).toBe(200);
    const followed = follow(answer.source!);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    const { events, ended } = await followed;
    expect(ended).toBe(true);
    // Within a lease and a check of it, not the 10-minute time-to-live.
    expect(Date.now() - killedAt).toBeLessThan(2000);
    expect(events.map((event) => event.id)).toEqual(events.map((_, i) => String(i + 1)));
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect((await b.store.read(id, 0))?.outcome).toBe('abandoned');
    const { epoch } = (await b.store.read(id, 0))!;
    expect(await b.streams.resume(id, `${epoch}.${events.length}`)).toEqual({ status: 204 });
  });

  it('answers 404 for a stream that never existed', async () => {
    const b = processWith();
    expect(await b.streams.resume(uniqueId())).toEqual({ status: 404 });
    expect(await b.streams.resume(uniqueId(), '3')).toEqual({ status: 404 });
    expect(await b.streams.stop(uniqueId())).toBe(false);
  });

  it('answers 404 once the ttl has passed', async () => {
    const a = processWith({ ttl: 300 });
    const b = processWith();
    const id = uniqueId();
    const started = await a.streams.start(id, function* () {
      yield 'only';
    });
    expect(await started.done).toBe('completed');
    expect((await b.streams.resume(id)).status).toBe(200);
    await sleep(450);
    expect(await b.streams.resume(id)).toEqual({ status: 404 });
    expect(await b.streams.resume(id, '1')).toEqual({ status: 404 });
    // The id used again for a new stream: an id of the old one replays the new one from its start.
    const again = await a.streams.start(id, function* () {
      yield 'new 1';
      yield 'new 2';
    });
    expect(again.epoch).not.toBe(started.epoch);
    expect(await again.done).toBe('completed');
    const replayed = await resumeAll(b.streams, id, `${started.epoch}.1`);
    expect(replayed.events.map((event) => event.data)).toEqual(['new 1', 'new 2']);
  });

  it('answers 204 for a finished stream resumed at its last event, 200 with the rest before it', async () => {
    const a = processWith();
    const b = processWith();
    const id = uniqueId();
    const started = await a.streams.start(id, function* () {
      yield 'one';
      yield 'two';
      yield 'three';
    });
    expect(await started.done).toBe('completed');
    expect(await b.streams.resume(id, `${started.epoch}.3`)).toEqual({ status: 204 });
    // A bare seq is not an id of this stream's: the whole stream, not from 2.
    expect((await resumeAll(b.streams, id, '1')).events).toHaveLength(3);
    expect(await resumeAll(b.streams, id, `${started.epoch}.1`)).toEqual({
      events: [
        { id: '2', data: 'two' },
        { id: '3', data: 'three' },
      ],
      ended: true,
    });
  });

  it('gives several followers, on both processes, identical events', async () => {
    const a = processWith();
    const b = processWith();
    const id = uniqueId();
    const go = deferred();
    const started = await a.streams.start(id, async function* () {
      await go.promise;
      for (let i = 1; i <= 50; i += 1) {
        yield { event: i % 2 ? 'odd' : 'even', data: `token ${i}` };
        if (i % 10 === 0) await sleep(2);
      }
    });
    const runs = [a, b, b, a, b].map(async ({ streams }) => {
      const answer = await streams.resume(id);
      return follow(answer.source!);
    });
    go.resolve();
    const results = await Promise.all(runs);
    expect(await started.done).toBe('completed');
    const expected = Array.from({ length: 50 }, (_, index) => ({
      id: String(index + 1),
      event: (index + 1) % 2 ? 'odd' : 'even',
      data: `token ${index + 1}`,
    }));
    for (const result of results) expect(result).toEqual({ events: expected, ended: true });
  });

  it('a follower whose subscription holds only after the end still gets the rest and the end', async () => {
    const a = processWith();
    const id = uniqueId();
    // B's subscriber connection connects only when the test says so.
    const client = new Redis(redis.current.url);
    onTestFinished(() => {
      client.disconnect();
    });
    let held: Redis | undefined;
    const duplicate = client.duplicate.bind(client);
    client.duplicate = (options) => {
      held = duplicate({ ...options, lazyConnect: true });
      return held;
    };
    const store = createRedisResumableStore({ client });
    const b = createResumableStreams({ store });
    onTestFinished(() => store.close());
    const gate = deferred();
    const started = await a.streams.start(id, async function* () {
      yield 'one';
      await gate.promise;
      yield 'two';
    });
    const answer = await b.resume(id);
    const followed = follow(answer.source!, undefined, () => {
      gate.resolve();
      return undefined;
    });
    expect(await started.done).toBe('completed');
    await held!.connect();
    expect(await followed).toEqual({
      events: [
        { id: '1', data: 'one' },
        { id: '2', data: 'two' },
      ],
      ended: true,
    });
  });

  it('no gap, no duplicate: a follower on B that drops 100 times at random gets every seq once, in order', async () => {
    const a = processWith();
    const b = processWith();
    const id = uniqueId();
    const total = 300;
    const started = await a.streams.start(id, async function* () {
      for (let i = 1; i <= total; i += 1) {
        yield `e${i}`;
        await sleep(1);
      }
    });
    const seen: number[] = [];
    let drops = 0;
    let lastEventId: string | undefined;
    for (;;) {
      const answer = await b.streams.resume(id, lastEventId);
      if (answer.status === 204) break;
      expect(answer.status).toBe(200);
      const leaveAfter = drops < 100 ? 1 + Math.floor(Math.random() * 5) : Number.POSITIVE_INFINITY;
      let received = 0;
      const { ended } = await follow(answer.source!, lastEventId, (event) => {
        seen.push(Number(event.id));
        expect(event.data).toBe(`e${event.id}`);
        lastEventId = `${started.epoch}.${event.id}`;
        received += 1;
        return received >= leaveAfter ? 'drop' : undefined;
      });
      if (ended) break;
      drops += 1;
    }
    expect(await started.done).toBe('completed');
    expect(drops).toBeGreaterThan(50);
    expect(seen).toEqual(Array.from({ length: total }, (_, index) => index + 1));
  });
});
