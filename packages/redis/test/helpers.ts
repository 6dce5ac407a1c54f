import { type ChannelMessage, encodeEvent, type StoredEvent } from '@sse-middleware/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../scripts/redis-server.mjs';
import { createRedisStore, type RedisStore, type RedisStoreOptions } from '../src/index.js';

/** Resolves once `check()` holds, checking every 10 ms; rejects after `timeoutMs` naming `what`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A real redis-server for the whole file, started before its tests and stopped after them. */
export function useRedisServer(): { readonly current: RedisServer } {
  const holder: { current?: RedisServer } = {};
  beforeAll(async () => {
    holder.current = await startRedisServer();
  });
  afterAll(async () => {
    await holder.current?.stop();
  });
  return {
    get current() {
      if (!holder.current) throw new Error('redis-server has not started');
      return holder.current;
    },
  };
}

let keys = 0;
/** A stream key of its own for each test, so tests never see each other's events. */
export function uniqueKey(): string {
  keys += 1;
  return `test:${process.pid}:${keys}`;
}

/** A store closed when the test finishes; errors it reports are collected, not printed. */
export function storeFor(options: RedisStoreOptions): RedisStore & { readonly reported: Error[] } {
  const reported: Error[] = [];
  const store = createRedisStore({ onError: (error) => reported.push(error), ...options });
  onTestFinished(() => store.close());
  return Object.assign(store, { reported });
}

/** A plain ioredis client for the test itself (`XADD` by hand, `CLIENT LIST`…), closed after it. */
export function adminClient(url: string): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  client.on('error', () => {});
  onTestFinished(() => {
    client.disconnect();
  });
  return client;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const message = (data: string, extra: Partial<ChannelMessage> = {}): ChannelMessage => ({
  event: undefined,
  data,
  topic: undefined,
  ...extra,
});

/** The encoder a channel gives `append`: the id line then the event. */
export const encodeWithId = (id: string) => encoder.encode(`id: ${id}\n\n`);

/** The encoder a channel gives `tail` (which refuses what SSE cannot carry, like a newline in a name). */
export const encodeMessage = (m: ChannelMessage, id: string) =>
  encoder.encode(encodeEvent({ id, event: m.event, data: m.data }));

export const decode = (bytes: Uint8Array) => decoder.decode(bytes);

/** `<epoch>.<entry id>`: the SSE id format of the Redis store. */
export const ID_SHAPE = /^([0-9a-z]{8})\.(\d+-\d+)$/;

/** The Redis entry id inside an SSE id (`mz3k9q2a.1732412345678-0` → `1732412345678-0`). */
export function entryIdOf(id: string): string {
  const match = ID_SHAPE.exec(id);
  if (!match) throw new Error(`${JSON.stringify(id)} is not an id of the Redis store`);
  return match[2]!;
}

/** The SSE ids of every entry of the stream, oldest first, as the store gives them. */
export async function streamEventIds(admin: Redis, key: string): Promise<string[]> {
  return (await admin.xrange(key, '-', '+')).map(([id, fields]) => {
    const at = fields.indexOf('epoch');
    return at >= 0 && at % 2 === 0 ? `${fields[at + 1]}.${id}` : id;
  });
}

/** Orders SSE ids of one epoch by their entry ids, as Redis orders entries. */
export function compareIds(a: string, b: string): number {
  const [am, as] = entryIdOf(a).split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = entryIdOf(b).split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

/** Appends `count` messages `prefix1…prefixN` one after another; resolves with their ids. */
export async function appendMany(store: RedisStore, count: number, prefix = 'e') {
  const ids: string[] = [];
  for (let i = 1; i <= count; i += 1) {
    ids.push((await store.append(message(`${prefix}${i}`), encodeWithId)).id);
  }
  return ids;
}

/** Starts `store`'s tail, collecting what it delivers; stopped when the test finishes. */
export function collectTail(store: RedisStore) {
  const events: StoredEvent[] = [];
  const stop = store.tail((stored) => events.push(stored), encodeMessage);
  onTestFinished(stop);
  return {
    events,
    stop,
    ids: () => events.map((e) => e.id),
    data: () => events.map((e) => e.data),
  };
}

/**
 * `count` tails of `key` have their connection up and blocked in `XREAD`: what is appended from
 * now on reaches them.
 */
export async function tailListening(
  admin: Redis,
  key: string,
  count = 1,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const tails = list.split('\n').filter((line) => line.includes(` name=sse-tail:${key} `));
    const blocked = tails.filter((line) => / cmd=xread /.test(line) && / flags=b /.test(line));
    if (blocked.length >= count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${count} tails of ${key} were not blocked in XREAD after ${timeoutMs} ms:\n${list}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Closes a tail's connection from the Redis side, as a network failure would: of the tails of
 * `key`, the one that connected last.
 */
export async function killTailConnection(admin: Redis, key: string): Promise<void> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=sse-tail:${key} `))
    .map((line) => Number(/^id=(\d+) /.exec(line)?.[1]));
  if (ids.length === 0) throw new Error(`no tail connection for ${key}:\n${list}`);
  await admin.call('CLIENT', 'KILL', 'ID', String(Math.max(...ids)));
}

/** The names of the connections Redis has from this process's stores, for `key`. */
export async function storeConnections(admin: Redis, key: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return [...list.matchAll(/ name=(sse-(?:tail|store):\S+) /g)]
    .map((match) => match[1]!)
    .filter((name) => name.endsWith(`:${key}`));
}
