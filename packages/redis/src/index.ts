export type {
  RedisDisconnectBusOptions,
  RedisTicketStoreOptions,
} from './authorization-options.js';
export { createRedisDisconnectBus, type RedisDisconnectBus } from './disconnect-bus.js';
export { RedisUnavailableError } from './errors.js';
export type { RedisStoreOptions, TrimOptions, WhileDown } from './options.js';
export { createRedisResumableStore, type RedisResumableStore } from './resumable.js';
export type { RedisResumableStoreOptions } from './resumable-options.js';
export { createRedisStore, type RedisStore } from './store.js';
export { createRedisTicketStore, type RedisTicketStore } from './tickets.js';
