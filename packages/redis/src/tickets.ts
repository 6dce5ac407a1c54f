import type { TicketStore } from '@sse-middleware/core';
import { invalid } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import {
  type RedisTicketStoreOptions,
  resolveTicketStoreOptions,
} from './authorization-options.js';
import { sendCommand } from './command.js';
import { closeConnection, openConnection, watchConnection } from './connection.js';

/** A {@link TicketStore} in Redis: a ticket issued on one process is redeemed on any, once. */
export interface RedisTicketStore extends TicketStore {
  /** `SET <prefix>:<ticket> <value> PX <ttlMs>`. Rejects with a `RedisUnavailableError` when Redis cannot be reached. */
  put(ticket: string, value: string, ttlMs: number): Promise<void>;
  /**
   * `GETDEL <prefix>:<ticket>`: the value, removed in the same step, so of two processes that
   * take one ticket at once only one gets it; `undefined` when it is unknown, taken or expired.
   */
  take(ticket: string): Promise<string | undefined>;
  /**
   * Closes the connection the store opened (a `client` you passed stays open) and resolves once it
   * is gone. Idempotent.
   */
  close(): Promise<void>;
}

const MAX_TTL_MS = 2 ** 31 - 1;

/**
 * Stream tickets kept in Redis, for `createStreamTickets({ store })` on several processes: a
 * ticket issued by one process opens a stream on any other, exactly once. Each ticket is one key,
 * `<prefix>:<ticket>`, expiring with the ticket; redeeming it is a `GETDEL` (Redis 6.2 or later).
 *
 * ```ts context=redis-url
 * import { createStreamTickets } from '@sse-middleware/core';
 * import { createRedisTicketStore } from '@sse-middleware/redis';
 *
 * const store = createRedisTicketStore({ url });
 * const tickets = createStreamTickets({ ttl: 30_000, store });
 * // on shutdown:
 * await store.close();
 * ```
 */
export function createRedisTicketStore(options: RedisTicketStoreOptions): RedisTicketStore {
  const { connection: source, prefix } = resolveTicketStoreOptions(options);
  const ownsCommands = !('client' in source);
  const commands: Redis =
    'client' in source ? source.client : openConnection(source, `sse-tickets:${prefix}`);
  const watch = watchConnection(commands);
  let closing: Promise<void> | undefined;

  function usable(operation: string): void {
    if (closing) throw new Error(`cannot ${operation}: the Redis ticket store is closed`);
  }

  return {
    async put(ticket, value, ttlMs) {
      if (typeof ticket !== 'string' || ticket === '') {
        throw invalid('put(ticket, value, ttlMs).ticket', 'a non-empty string', ticket);
      }
      if (typeof value !== 'string') {
        throw invalid('put(ticket, value, ttlMs).value', 'a string', value);
      }
      if (!Number.isSafeInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TTL_MS) {
        throw invalid(
          'put(ticket, value, ttlMs).ttlMs',
          `an integer of ms from 1 to ${MAX_TTL_MS}`,
          ttlMs,
        );
      }
      const operation = `put a ticket in "${prefix}"`;
      usable(operation);
      await sendCommand(commands, watch, operation, () =>
        commands.set(`${prefix}:${ticket}`, value, 'PX', ttlMs),
      );
    },

    async take(ticket) {
      if (typeof ticket !== 'string' || ticket === '') {
        throw invalid('take(ticket)', 'a non-empty string', ticket);
      }
      const operation = `take a ticket from "${prefix}"`;
      usable(operation);
      const value = await sendCommand(commands, watch, operation, () =>
        commands.getdel(`${prefix}:${ticket}`),
      );
      return value ?? undefined;
    },

    close() {
      closing ??= (async () => {
        if (ownsCommands) await closeConnection(commands, true);
        watch.dispose();
      })();
      return closing;
    },
  };
}
