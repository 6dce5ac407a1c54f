import { invalid } from '../util/validate.js';

/** What `disconnect()` tells every engine on a bus: end the streams of `key`, and refuse it for a while. */
export interface DisconnectMessage {
  readonly key: string;
  /** Ms during which new streams of `key` get a 401. Default 0. */
  readonly refuseFor?: number | undefined;
}

/**
 * How `disconnect({ key })` reaches every engine, on this process and others: the engine publishes
 * on it and ends the streams of every message it receives. `createDisconnectBus()` joins the
 * engines of one process; `createRedisDisconnectBus()` (`@sse-middleware/redis`) every process.
 */
export interface DisconnectBus {
  publish(message: DisconnectMessage): void | Promise<void>;
  /** Returns how to stop listening. */
  subscribe(listener: (message: DisconnectMessage) => void): () => void;
}

/**
 * A bus for the engines of one process, so that one `disconnect({ key })` ends a user's streams
 * on every route.
 *
 * ```ts context=node-handler
 * import { createChannel, createDisconnectBus } from '@sse-middleware/core';
 * import { sse } from '@sse-middleware/node-http';
 *
 * const disconnects = createDisconnectBus();
 * const authorize = () => ({ key: 'alice' });
 * const feed = sse(handler, { source: createChannel().source(), authorize, disconnects });
 * const inbox = sse(feed, { source: createChannel().source(), authorize, disconnects });
 * await inbox.disconnect({ key: 'alice', refuseFor: 60_000 }); // ends alice's streams on both
 * ```
 */
export function createDisconnectBus(): DisconnectBus {
  const listeners = new Set<(message: DisconnectMessage) => void>();
  return {
    publish(message) {
      for (const listener of [...listeners]) listener(message);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}

/** A message as it arrived from a bus (another process, say): `undefined` when it is not one. */
export function parseDisconnectMessage(value: unknown): DisconnectMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { key, refuseFor } = value as Record<string, unknown>;
  if (typeof key !== 'string' || key === '') return undefined;
  if (refuseFor === undefined) return { key };
  if (typeof refuseFor !== 'number' || !Number.isSafeInteger(refuseFor) || refuseFor < 0)
    return undefined;
  return { key, refuseFor };
}

export function checkedDisconnect(value: unknown): DisconnectMessage {
  const message = parseDisconnectMessage(value);
  if (message) return message;
  if (typeof value !== 'object' || value === null)
    throw invalid('disconnect(filter)', '{ key, refuseFor? }', value);
  const { key, refuseFor } = value as Record<string, unknown>;
  if (typeof key !== 'string' || key === '')
    throw invalid('disconnect(filter).key', 'a non-empty string', key);
  throw invalid('disconnect(filter).refuseFor', 'a non-negative integer of ms', refuseFor);
}
