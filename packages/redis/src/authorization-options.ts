import { invalid, isPlainObject } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import { resolveConnection, type Settings } from './options.js';

/**
 * Options of `createRedisDisconnectBus`. Give `url` or `client`.
 *
 * ```ts
 * import type { RedisDisconnectBusOptions } from '@sse-middleware/redis';
 *
 * const options: RedisDisconnectBusOptions = { url: 'redis://127.0.0.1:6379', channel: 'app:disconnect' };
 * ```
 */
export interface RedisDisconnectBusOptions {
  /** Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string | undefined;
  /**
   * An ioredis client to use instead of `url`. The bus publishes through it, subscribes through a
   * `duplicate()` of it, and never closes it.
   */
  client?: Redis | undefined;
  /** The pub/sub channel every process's bus publishes and listens on. Default `'sse-middleware:disconnect'`. */
  channel?: string | undefined;
  /**
   * Told of what cannot be thrown to a caller: a message on the channel that is not a disconnect
   * (ignored), a listener that threw (the others still ran), the subscription losing Redis (it
   * reconnects and subscribes again; what was published meanwhile is not received). Default:
   * `console.error`.
   */
  onError?: ((error: Error) => void) | undefined;
}

/**
 * Options of `createRedisTicketStore`. Give `url` or `client`.
 *
 * ```ts
 * import type { RedisTicketStoreOptions } from '@sse-middleware/redis';
 *
 * const options: RedisTicketStoreOptions = { url: 'redis://127.0.0.1:6379', prefix: 'app:ticket' };
 * ```
 */
export interface RedisTicketStoreOptions {
  /** Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string | undefined;
  /** An ioredis client to use instead of `url`. The store sends its commands through it and never closes it. */
  client?: Redis | undefined;
  /** What every ticket's key starts with: `<prefix>:<ticket>`. Default `'sse-middleware:ticket'`. */
  prefix?: string | undefined;
}

export interface DisconnectBusSettings {
  readonly connection: Settings['connection'];
  readonly channel: string;
  readonly onError: (error: Error) => void;
}

export interface TicketStoreSettings {
  readonly connection: Settings['connection'];
  readonly prefix: string;
}

export const DEFAULT_DISCONNECT_CHANNEL = 'sse-middleware:disconnect';
export const DEFAULT_TICKET_PREFIX = 'sse-middleware:ticket';

const BUS_KEYS = ['url', 'client', 'channel', 'onError'];
const TICKET_KEYS = ['url', 'client', 'prefix'];

const defaultOnError = (error: Error) => console.error('[@sse-middleware/redis]', error);

function checkKeys(where: string, options: unknown, keys: readonly string[]): void {
  if (!isPlainObject(options)) throw invalid(where, 'an object', options);
  for (const name of Object.keys(options)) {
    if (!keys.includes(name)) throw invalid(`${where}.${name}`, `one of ${keys.join(', ')}`, name);
  }
}

/** Checks every option at once; a bad one throws a `TypeError` naming it and the value received. */
export function resolveDisconnectBusOptions(
  options: RedisDisconnectBusOptions,
): DisconnectBusSettings {
  const where = 'createRedisDisconnectBus(options)';
  checkKeys(where, options, BUS_KEYS);
  const channel = options.channel ?? DEFAULT_DISCONNECT_CHANNEL;
  if (typeof channel !== 'string' || channel === '') {
    throw invalid(`${where}.channel`, 'a non-empty string', channel);
  }
  const onError: unknown = options.onError ?? defaultOnError;
  if (typeof onError !== 'function') throw invalid(`${where}.onError`, 'a function', onError);
  return {
    connection: resolveConnection(where, options, 'the bus listens on one server'),
    channel,
    onError: onError as (error: Error) => void,
  };
}

/** Checks every option at once; a bad one throws a `TypeError` naming it and the value received. */
export function resolveTicketStoreOptions(options: RedisTicketStoreOptions): TicketStoreSettings {
  const where = 'createRedisTicketStore(options)';
  checkKeys(where, options, TICKET_KEYS);
  const prefix = options.prefix ?? DEFAULT_TICKET_PREFIX;
  if (typeof prefix !== 'string' || prefix === '') {
    throw invalid(`${where}.prefix`, 'a non-empty string', prefix);
  }
  return {
    connection: resolveConnection(where, options, 'tickets live on one server'),
    prefix,
  };
}
