import type { DisconnectBus, DisconnectMessage } from '@sse-middleware/core';
import { invalid, parseDisconnectMessage } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import {
  type RedisDisconnectBusOptions,
  resolveDisconnectBusOptions,
} from './authorization-options.js';
import { sendCommand } from './command.js';
import { closeConnection, openConnection, watchConnection } from './connection.js';
import { asError } from './errors.js';
import { createSubscriber } from './subscriber.js';

/** A {@link DisconnectBus} on Redis pub/sub: a `disconnect({ key })` on any process reaches every one. */
export interface RedisDisconnectBus extends DisconnectBus {
  /**
   * Publishes `message` as JSON on the channel. Resolves once Redis has it; rejects with a
   * `RedisUnavailableError` when Redis cannot be reached (at once while it is known to be down,
   * within 10 s otherwise), and with a `TypeError` for a message that is not `{ key, refuseFor? }`.
   */
  publish(message: DisconnectMessage): Promise<void>;
  /**
   * Calls `listener` with every valid message on the channel, this bus's own included (they come
   * back from Redis). Returns how to stop listening.
   */
  subscribe(listener: (message: DisconnectMessage) => void): () => void;
  /**
   * Stops every listener, unsubscribes, and closes the connections the bus opened (a `client` you
   * passed stays open); resolves once they are gone. Idempotent.
   */
  close(): Promise<void>;
}

/** How much of a malformed payload an error quotes. */
const QUOTED_CHARS = 200;

/**
 * A disconnect bus for every process: give it to each engine as `options.disconnects`, and a
 * `disconnect({ key, refuseFor })` on any engine of any process ends that key's streams on all of
 * them. Messages are JSON (`{"key":"alice","refuseFor":60000}`) on one Redis pub/sub channel,
 * published through the bus's connection and heard on a subscriber connection of its own, which
 * subscribes again after every reconnect.
 *
 * ```ts context=redis-url
 * import { createSseEngine } from '@sse-middleware/core/adapter';
 * import { createRedisDisconnectBus } from '@sse-middleware/redis';
 *
 * const disconnects = createRedisDisconnectBus({ url });
 * const engine = createSseEngine({ source: async function* () {}, disconnects });
 * await engine.disconnect({ key: 'alice', refuseFor: 60_000 }); // on every process
 * // on shutdown, after the engine's close():
 * await disconnects.close();
 * ```
 */
export function createRedisDisconnectBus(options: RedisDisconnectBusOptions): RedisDisconnectBus {
  const { connection: source, channel, onError } = resolveDisconnectBusOptions(options);
  const report = (error: Error) => {
    try {
      onError(error);
    } catch {
      // A reporter that throws is ignored.
    }
  };
  const ownsCommands = !('client' in source);
  const commands: Redis =
    'client' in source ? source.client : openConnection(source, `sse-disconnects:${channel}`);
  const watch = watchConnection(commands);
  // The subscription's outages, reported once each: what is published meanwhile is missed.
  let outageReported = false;
  const subscriber = createSubscriber(() => {
    const opened = openConnection(source, `sse-disconnects-sub:${channel}`, {
      autoResubscribe: false,
    });
    let lastError: Error | undefined;
    const lost = () => {
      if (closing || outageReported) return;
      outageReported = true;
      const why = lastError ? ` (${lastError.message})` : '';
      report(
        new Error(
          `the disconnect bus on "${channel}" has no connection to Redis${why}: it reconnects and subscribes again; disconnects published meanwhile are not received`,
          lastError ? { cause: lastError } : {},
        ),
      );
    };
    opened.on('error', (error: unknown) => {
      lastError = asError(error);
    });
    opened.on('close', lost);
    opened.on('ready', () => {
      lastError = undefined;
      outageReported = false;
    });
    return opened;
  }, 'the Redis disconnect bus');
  const listeners = new Set<(message: DisconnectMessage) => void>();
  let unlisten: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  function hear(payload: string): void {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      value = undefined;
    }
    const message = parseDisconnectMessage(value);
    if (!message) {
      const quoted = payload.length > QUOTED_CHARS ? `${payload.slice(0, QUOTED_CHARS)}…` : payload;
      report(
        new Error(
          `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: ${JSON.stringify(quoted)}`,
        ),
      );
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(message);
      } catch (error) {
        const cause = asError(error);
        report(
          new Error(`a listener of the disconnect bus on "${channel}" threw: ${cause.message}`, {
            cause,
          }),
        );
      }
    }
  }

  return {
    async publish(message) {
      const checked = parseDisconnectMessage(message);
      if (!checked) throw invalid('publish(message)', 'a message { key, refuseFor? }', message);
      const operation = `publish a disconnect on "${channel}"`;
      if (closing) throw new Error(`cannot ${operation}: the Redis disconnect bus is closed`);
      const payload = JSON.stringify(checked);
      await sendCommand(commands, watch, operation, () => commands.publish(channel, payload));
    },

    subscribe(listener) {
      if (typeof listener !== 'function') {
        throw invalid('subscribe(listener)', 'a function', listener);
      }
      if (closing) throw new Error('cannot subscribe: the Redis disconnect bus is closed');
      // One copy per subscription, so that one listener given twice is also removed one at a time.
      const own = (message: DisconnectMessage) => listener(message);
      listeners.add(own);
      unlisten ??= subscriber.listen(channel, hear);
      return () => {
        if (!listeners.delete(own) || listeners.size > 0) return;
        unlisten?.();
        unlisten = undefined;
      };
    },

    close() {
      closing ??= (async () => {
        listeners.clear();
        unlisten?.();
        unlisten = undefined;
        await Promise.all([
          subscriber.close(),
          ownsCommands ? closeConnection(commands, true) : undefined,
        ]);
        watch.dispose();
      })();
      return closing;
    },
  };
}
