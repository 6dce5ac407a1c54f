import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createRedisStore, type RedisStoreOptions } from '../src/index.js';

const url = 'redis://127.0.0.1:1';
const make = (options: unknown) => () => createRedisStore(options as RedisStoreOptions);

describe('createRedisStore(options) refuses bad options with a TypeError naming them', () => {
  it.each([
    [undefined, 'createRedisStore(options) must be an object, received undefined'],
    ['redis://x', 'createRedisStore(options) must be an object, received "redis://x" (string)'],
    [
      { url, keys: 'x' },
      'createRedisStore(options).keys must be one of url, client, key, trim, blockMs, whileDown, onError, received "keys" (string)',
    ],
    [
      {},
      'createRedisStore(options) must be an object with either `url` or `client` (not both), received {} (Object)',
    ],
    [
      { url: 'http://127.0.0.1:6379' },
      'createRedisStore(options).url must be a redis:// or rediss:// URL, received "http://127.0.0.1:6379" (string)',
    ],
    [
      { url: 'localhost:6379' },
      'createRedisStore(options).url must be a redis:// or rediss:// URL, received "localhost:6379" (string)',
    ],
    [
      { url: 6379 },
      'createRedisStore(options).url must be a redis:// or rediss:// URL, received 6379 (number)',
    ],
    [
      { client: { xadd: 1 } },
      'createRedisStore(options).client must be an ioredis client (new Redis(…)), received {"xadd":1} (Object)',
    ],
    [
      { url, key: '' },
      'createRedisStore(options).key must be a non-empty string, received "" (string)',
    ],
    [
      { url, key: 7 },
      'createRedisStore(options).key must be a non-empty string, received 7 (number)',
    ],
    [
      { url, trim: 100 },
      'createRedisStore(options).trim must be { maxLength: number } or { maxAgeMs: number }, with an optional `exact: boolean`, received 100 (number)',
    ],
    [
      { url, trim: { maxLength: 10, maxAgeMs: 10 } },
      'createRedisStore(options).trim must be { maxLength: number } or { maxAgeMs: number }, with an optional `exact: boolean`, received {"maxLength":10,"maxAgeMs":10} (Object)',
    ],
    [
      { url, trim: { maxLen: 10 } },
      'createRedisStore(options).trim must be { maxLength: number } or { maxAgeMs: number }, with an optional `exact: boolean`, received {"maxLen":10} (Object)',
    ],
    [
      { url, trim: { maxLength: 0 } },
      'createRedisStore(options).trim.maxLength must be an integer from 1 to 9007199254740991, received 0 (number)',
    ],
    [
      { url, trim: { maxAgeMs: 1.5 } },
      'createRedisStore(options).trim.maxAgeMs must be an integer from 1 to 9007199254740991, received 1.5 (number)',
    ],
    [
      { url, trim: { maxLength: 5, exact: 'yes' } },
      'createRedisStore(options).trim.exact must be a boolean, received "yes" (string)',
    ],
    [
      { url, blockMs: 0 },
      'createRedisStore(options).blockMs must be an integer from 1 to 2147483647, received 0 (number)',
    ],
    [
      { url, blockMs: '5000' },
      'createRedisStore(options).blockMs must be an integer from 1 to 2147483647, received "5000" (string)',
    ],
    [
      { url, whileDown: 'wait' },
      'createRedisStore(options).whileDown must be \'fail\' or { waitMs: number }, received "wait" (string)',
    ],
    [
      { url, whileDown: { waitMs: -1 } },
      'createRedisStore(options).whileDown.waitMs must be an integer from 1 to 2147483647, received -1 (number)',
    ],
    [
      { url, whileDown: { wait: 100 } },
      'createRedisStore(options).whileDown must be \'fail\' or { waitMs: number }, received {"wait":100} (Object)',
    ],
    [
      { url, onError: 'console' },
      'createRedisStore(options).onError must be a function, received "console" (string)',
    ],
  ])('%j', (options, expected) => {
    expect(make(options)).toThrow(new TypeError(expected));
  });

  it('refuses url and client together', () => {
    const client = new Redis(url, { lazyConnect: true });
    expect(make({ url, client })).toThrow(
      new TypeError(
        'createRedisStore(options) must be an object with either `url` or `client` (not both), received {"url":"redis://127.0.0.1:1","client":"a client"} (Object)',
      ),
    );
  });

  it('refuses a client whose replies are mapped the RESP3 way', () => {
    const client = new Redis(url, { lazyConnect: true, protocol: 3, replyMapping: 'resp3' });
    expect(make({ client })).toThrow(
      new TypeError(
        'createRedisStore(options).client must be an ioredis client with the default replyMapping \'legacy\', received {"replyMapping":"resp3"} (Object)',
      ),
    );
  });

  it('refuses a Redis Cluster client: a stream lives on one node', () => {
    const client = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(make({ client })).toThrow(
      new TypeError(
        'createRedisStore(options).client must be a client of one Redis server (new Redis(…)), not a Cluster: a stream lives on one node, received "a Cluster client" (string)',
      ),
    );
  });
});
