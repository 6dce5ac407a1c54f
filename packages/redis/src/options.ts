import { invalid, isPlainObject } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import type { RedisUnavailableError } from './errors.js';

/**
 * How the stream is kept bounded, applied by every `XADD`:
 * - `{ maxLength }`: keep about the latest `maxLength` events (`MAXLEN ~`);
 * - `{ maxAgeMs }`: keep the events of about the last `maxAgeMs` ms (`MINID ~`, by this
 *   process's clock against the ids' Redis-clock milliseconds).
 *
 * Trimming is approximate by default (Redis frees whole blocks of entries, so a few more than the
 * bound are kept, and it costs nothing); `exact: true` trims to the entry (`=`), at some cost.
 *
 * ```ts context=redis-url
 * import { createRedisStore } from '@sse-middleware/redis';
 *
 * createRedisStore({ url, trim: { maxLength: 10_000 } }); // about the latest 10,000 events
 * createRedisStore({ url, trim: { maxAgeMs: 3_600_000 } }); // about the last hour
 * ```
 */
export type TrimOptions =
  | { maxLength: number; maxAgeMs?: undefined; exact?: boolean | undefined }
  | { maxAgeMs: number; maxLength?: undefined; exact?: boolean | undefined };

/**
 * What publishing (`append`) and replaying (`since`) do while Redis cannot be reached:
 * - `'fail'`: reject at once with a {@link RedisUnavailableError};
 * - `{ waitMs }`: wait up to `waitMs` for Redis to come back, then reject the same way.
 *
 * ```ts context=redis-url
 * import { createRedisStore } from '@sse-middleware/redis';
 *
 * createRedisStore({ url, whileDown: { waitMs: 2000 } }); // ride out a failover of up to 2 s
 * ```
 */
export type WhileDown = 'fail' | { waitMs: number };

/**
 * Options of {@link createRedisStore}. Give `url` or `client`; everything else is optional.
 *
 * ```ts
 * import type { RedisStoreOptions } from '@sse-middleware/redis';
 *
 * const options: RedisStoreOptions = { url: 'redis://127.0.0.1:6379', key: 'prices' };
 * ```
 */
export interface RedisStoreOptions {
  /** Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string | undefined;
  /**
   * An ioredis client to use instead of `url` (for Sentinel, TLS options, a shared pool…). The
   * store publishes and replays through it, tails through a `duplicate()` of it, and never closes it.
   */
  client?: Redis | undefined;
  /** The stream's key: one stream per channel. Default `'sse:events'`. */
  key?: string | undefined;
  /** How the stream is kept bounded. Default `{ maxLength: 1000 }`, the memory store's window. */
  trim?: TrimOptions | undefined;
  /**
   * How long each `XREAD BLOCK` of the tail waits for new events, in ms. A connection silent for
   * longer than this (plus 2 s) is taken as dead and reconnected. Default 5000.
   */
  blockMs?: number | undefined;
  /** What publishing and replaying do while Redis is unreachable. Default `'fail'`. */
  whileDown?: WhileDown | undefined;
  /**
   * Told of what cannot be thrown to a caller: the tail losing Redis (it reconnects with backoff
   * and resumes where it was), a stream entry that is not an event. Default: `console.error`.
   */
  onError?: ((error: Error) => void) | undefined;
}

/** The options, checked and with their defaults. */
export interface Settings {
  readonly connection: { readonly url: string } | { readonly client: Redis };
  readonly key: string;
  /** The trimming arguments of the next `XADD`. */
  readonly trimArgs: () => string[];
  readonly blockMs: number;
  /** 0 fails at once while Redis is down. */
  readonly waitMs: number;
  readonly onError: (error: Error) => void;
}

const KEYS = ['url', 'client', 'key', 'trim', 'blockMs', 'whileDown', 'onError'];
const MAX_TIMER_MS = 2 ** 31 - 1;

export const DEFAULT_KEY = 'sse:events';
export const DEFAULT_MAX_LENGTH = 1000;
export const DEFAULT_BLOCK_MS = 5000;

const defaultOnError = (error: Error) => console.error('[@sse-middleware/redis]', error);

function positiveInteger(name: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw invalid(name, `an integer from 1 to ${max}`, value);
  }
  return value;
}

/** Checks every option at once; a bad one throws a `TypeError` naming it and the value received. */
export function resolveOptions(options: RedisStoreOptions): Settings {
  const where = 'createRedisStore(options)';
  if (!isPlainObject(options)) throw invalid(where, 'an object', options);
  for (const name of Object.keys(options)) {
    if (!KEYS.includes(name)) throw invalid(`${where}.${name}`, `one of ${KEYS.join(', ')}`, name);
  }
  const key = options.key ?? DEFAULT_KEY;
  if (typeof key !== 'string' || key === '')
    throw invalid(`${where}.key`, 'a non-empty string', key);
  const onError: unknown = options.onError ?? defaultOnError;
  if (typeof onError !== 'function') throw invalid(`${where}.onError`, 'a function', onError);
  return {
    connection: resolveConnection(where, options),
    key,
    trimArgs: resolveTrim(`${where}.trim`, options.trim ?? { maxLength: DEFAULT_MAX_LENGTH }),
    blockMs: positiveInteger(`${where}.blockMs`, options.blockMs ?? DEFAULT_BLOCK_MS, MAX_TIMER_MS),
    waitMs: resolveWhileDown(`${where}.whileDown`, options.whileDown ?? 'fail'),
    onError: onError as (error: Error) => void,
  };
}

/**
 * The `url` or `client` option, checked: exactly one of them. `oneNode` says why a Cluster
 * client is refused.
 */
export function resolveConnection(
  where: string,
  options: Pick<RedisStoreOptions, 'url' | 'client'>,
  oneNode = 'a stream lives on one node',
): Settings['connection'] {
  const { url, client } = options;
  if ((url === undefined) === (client === undefined)) {
    throw invalid(where, 'an object with either `url` or `client` (not both)', {
      url,
      client: client === undefined ? undefined : 'a client',
    });
  }
  if (client !== undefined) {
    const candidate = client as unknown as Record<string, unknown> | null;
    if (
      typeof candidate !== 'object' ||
      candidate === null ||
      typeof candidate['duplicate'] !== 'function' ||
      typeof candidate['xadd'] !== 'function'
    ) {
      throw invalid(`${where}.client`, 'an ioredis client (new Redis(…))', client);
    }
    if (candidate['isCluster'] === true) {
      throw invalid(
        `${where}.client`,
        `a client of one Redis server (new Redis(…)), not a Cluster: ${oneNode}`,
        'a Cluster client',
      );
    }
    const mapping = (client.options as { replyMapping?: unknown } | undefined)?.replyMapping;
    if (mapping === 'resp3') {
      throw invalid(`${where}.client`, "an ioredis client with the default replyMapping 'legacy'", {
        replyMapping: mapping,
      });
    }
    return { client };
  }
  if (typeof url !== 'string' || !isRedisUrl(url)) {
    throw invalid(`${where}.url`, 'a redis:// or rediss:// URL', url);
  }
  return { url };
}

function isRedisUrl(text: string): boolean {
  try {
    const { protocol, hostname } = new URL(text);
    return (protocol === 'redis:' || protocol === 'rediss:') && hostname !== '';
  } catch {
    return false;
  }
}

function resolveTrim(name: string, trim: unknown): () => string[] {
  const shape = '{ maxLength: number } or { maxAgeMs: number }, with an optional `exact: boolean`';
  if (!isPlainObject(trim)) throw invalid(name, shape, trim);
  const { maxLength, maxAgeMs, exact = false, ...rest } = trim;
  if (Object.keys(rest).length > 0 || (maxLength === undefined) === (maxAgeMs === undefined)) {
    throw invalid(name, shape, trim);
  }
  if (typeof exact !== 'boolean') throw invalid(`${name}.exact`, 'a boolean', exact);
  const how = exact ? '=' : '~';
  if (maxLength !== undefined) {
    const args = ['MAXLEN', how, String(positiveInteger(`${name}.maxLength`, maxLength))];
    return () => args;
  }
  const age = positiveInteger(`${name}.maxAgeMs`, maxAgeMs);
  return () => ['MINID', how, String(Math.max(0, Date.now() - age))];
}

function resolveWhileDown(name: string, whileDown: unknown): number {
  if (whileDown === 'fail') return 0;
  if (isPlainObject(whileDown) && Object.keys(whileDown).length === 1 && 'waitMs' in whileDown) {
    return positiveInteger(`${name}.waitMs`, whileDown['waitMs'], MAX_TIMER_MS);
  }
  throw invalid(name, "'fail' or { waitMs: number }", whileDown);
}
