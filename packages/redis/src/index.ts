export { RedisUnavailableError } from './errors.js';
export type { RedisStoreOptions, TrimOptions, WhileDown } from './options.js';
export { createRedisStore, type RedisStore } from './store.js';
