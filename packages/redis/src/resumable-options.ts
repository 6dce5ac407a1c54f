import { invalid, isPlainObject } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import { resolveConnection, type Settings } from './options.js';

/**
 * Options of `createRedisResumableStore`. Give `url` or `client`.
 *
 * ```ts
 * import type { RedisResumableStoreOptions } from '@sse-middleware/redis';
 *
 * const options: RedisResumableStoreOptions = { url: 'redis://127.0.0.1:6379', prefix: 'chat' };
 * ```
 */
export interface RedisResumableStoreOptions {
  /** Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string | undefined;
  /**
   * An ioredis client to use instead of `url`. The store sends its commands through it, listens
   * through a `duplicate()` of it, and never closes it.
   */
  client?: Redis | undefined;
  /** What every key and channel of the store starts with. Default `'sse:resumable'`. */
  prefix?: string | undefined;
}

export interface ResumableSettings {
  readonly connection: Settings['connection'];
  readonly prefix: string;
}

export const DEFAULT_PREFIX = 'sse:resumable';
const KEYS = ['url', 'client', 'prefix'];

/** Checks every option at once; a bad one throws a `TypeError` naming it and the value received. */
export function resolveResumableOptions(options: RedisResumableStoreOptions): ResumableSettings {
  const where = 'createRedisResumableStore(options)';
  if (!isPlainObject(options)) throw invalid(where, 'an object', options);
  for (const name of Object.keys(options)) {
    if (!KEYS.includes(name)) throw invalid(`${where}.${name}`, `one of ${KEYS.join(', ')}`, name);
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || prefix === '' || /\s/.test(prefix)) {
    throw invalid(`${where}.prefix`, 'a non-empty string without whitespace', prefix);
  }
  return { connection: resolveConnection(where, options), prefix };
}
