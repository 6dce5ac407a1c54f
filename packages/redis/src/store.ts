import {
  type ChannelMessage,
  type EventStore,
  encodeEvent,
  type ReplayResult,
  type StoredEvent,
} from '@sse-middleware/core';
import { appendEntry } from './append.js';
import {
  CONNECT_TIMEOUT_MS,
  closeConnection,
  openConnection,
  watchConnection,
} from './connection.js';
import { toFields } from './entry.js';
import { asError, isReplyError, RedisUnavailableError } from './errors.js';
import { eventId } from './event-id.js';
import { type RedisStoreOptions, resolveOptions } from './options.js';
import { readReplay } from './replay.js';
import { startTail, type Tail, type TailPosition } from './tail.js';

/** How much longer than `blockMs` a tail's connection may stay silent before it is taken as dead. */
const SILENCE_GRACE_MS = 2000;

/**
 * An {@link EventStore} on a Redis stream, shared by every process that uses the same key: give it
 * to `createChannel({ store })`, and close it on shutdown.
 *
 * ```ts
 * import { createChannel } from '@sse-middleware/core';
 * import { createRedisStore, type RedisStore } from '@sse-middleware/redis';
 *
 * const store: RedisStore = createRedisStore({ url: 'redis://127.0.0.1:6379' });
 * const channel = createChannel({ store });
 * // …serve channel.source(), publish with channel.publish(); on shutdown:
 * channel.close();
 * await store.close();
 * ```
 */
export interface RedisStore extends EventStore {
  /** The stream's key. */
  readonly key: string;
  /**
   * `XADD`s the event (trimming the stream as configured) and resolves once Redis has it. Its SSE
   * id, the same on every process, is `<epoch>.<entry id>` (`mz3k9q2a.1732412345678-0`): the
   * stream's epoch, which is new whenever the stream is created anew (deleted, flushed, lost by
   * Redis), then the entry id Redis assigned. Ids are opaque to clients. While Redis is down it
   * rejects with a {@link RedisUnavailableError} (see `whileDown`).
   */
  append(message: ChannelMessage, encode: (id: string) => Uint8Array): Promise<StoredEvent>;
  /**
   * The retained events after `lastEventId` (`XRANGE`), and whether none is missing. An id this
   * lifetime of the stream never issued (another epoch: a stream since deleted or flushed, another
   * store's, the memory store's, a malformed or future id) gets every retained event, with
   * `gapReason: 'unknown-epoch'`; an id older than the oldest retained entry, or with an entry
   * after it deleted, gets `gapReason: 'not-retained'`.
   */
  since(lastEventId: string): Promise<ReplayResult>;
  /**
   * Follows the stream on a connection of its own (`XREAD BLOCK`), delivering every event any
   * process appends, in stream order, from where the stream ends now. After losing Redis it
   * reconnects with backoff and resumes after the last event it delivered: no gap, no duplicate.
   * When the stream is created anew under it (deleted, flushed, Redis restarted empty), it goes on
   * with the new stream's events, which have the new epoch in their ids, even those whose entry
   * ids are not after its position (a Redis whose clock is behind).
   * One tail at a time (a store feeds one channel). Returns how to stop it.
   */
  tail(
    onEvent: (stored: StoredEvent) => void,
    encode: (message: ChannelMessage, id: string) => Uint8Array,
  ): () => void;
  /**
   * Stops the tail and closes the connections the store opened (a `client` you passed stays
   * open). Resolves once they are closed. Idempotent.
   */
  close(): Promise<void>;
}

const textEncoder = new TextEncoder();

/** The bytes a channel sends for a stored event, for replays read while no tail runs. */
const encodeStored = (message: ChannelMessage, id: string): Uint8Array =>
  textEncoder.encode(encodeEvent({ id, event: message.event, data: message.data }));

/**
 * A channel store on a Redis stream, for running a channel on several processes: publish on any
 * of them and every subscriber of every process gets the event, in the same order, with the same
 * id (`<epoch>.<entry id>`); a client that reconnects to another process resumes from its
 * `Last-Event-ID`, and one whose id the stream never issued gets a `replay-gap` first.
 *
 * ```ts
 * import { createChannel } from '@sse-middleware/core';
 * import { createRedisStore } from '@sse-middleware/redis';
 *
 * const store = createRedisStore({ url: process.env.REDIS_URL, key: 'prices' });
 * const prices = createChannel({ store });
 * // on shutdown:
 * prices.close();
 * await store.close();
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const settings = resolveOptions(options);
  const { key, blockMs, waitMs, onError } = settings;
  const ownsCommands = !('client' in settings.connection);
  const commands =
    'client' in settings.connection
      ? settings.connection.client
      : openConnection(settings.connection, `sse-store:${key}`);
  const watch = watchConnection(commands);
  let activeTail: Tail | undefined;
  let encode: (message: ChannelMessage, id: string) => Uint8Array = encodeStored;
  const stoppingTails = new Set<Promise<void>>();
  let closing: Promise<void> | undefined;

  /** Resolves once commands can be sent; rejects as `whileDown` says while Redis is down. */
  async function usable(operation: string): Promise<void> {
    if (closing) throw new Error(`cannot ${operation}: the Redis store is closed`);
    if (commands.status === 'ready') return;
    const known = watch.down;
    if (known && waitMs === 0) {
      throw new RedisUnavailableError(
        `cannot ${operation}: Redis is unreachable (${known.message})`,
        {
          cause: known,
        },
      );
    }
    try {
      // A first connection is waited for (until it fails, in 'fail' mode): it is not an outage.
      await watch.ready(waitMs || CONNECT_TIMEOUT_MS, waitMs === 0);
    } catch (error) {
      const cause = asError(error);
      const waited = waitMs ? ` after waiting ${waitMs} ms` : '';
      throw new RedisUnavailableError(
        `cannot ${operation}: Redis is unreachable${waited} (${cause.message})`,
        { cause },
      );
    }
  }

  /** A failed command's error: Redis's own answer as it is, a lost connection as unavailability. */
  function failure(operation: string, error: unknown, consequence = ''): Error {
    if (isReplyError(error)) return error as Error;
    // A command cut short by a lost connection fails with a generic error; the connection knows why.
    const cause = watch.down ?? asError(error);
    return new RedisUnavailableError(
      `cannot ${operation}: the connection to Redis failed before it answered (${cause.message})${consequence}`,
      { cause },
    );
  }

  /**
   * The tail's position, once it has read where the stream ends (`undefined` without a tail). A replay
   * reads up to it, so nothing reaches a subscriber twice; an append waits for it, so the tail
   * starts before the event and fans it out here too.
   */
  async function tailPosition(operation: string): Promise<TailPosition | undefined> {
    const tail = activeTail;
    if (!tail) return undefined;
    const known = tail.position();
    if (known !== undefined) return known;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const position = await Promise.race([
      tail.positioned,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), waitMs || CONNECT_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (position !== undefined) return position;
    if (activeTail !== tail) return undefined;
    throw new RedisUnavailableError(`cannot ${operation}: the tail has not reached Redis yet`);
  }

  return {
    key,

    async append(message, encodeWithId) {
      const operation = `publish to "${key}"`;
      await usable(operation);
      if (activeTail?.position() === undefined) await tailPosition(operation);
      let id: string;
      try {
        const { epoch, entryId } = await appendEntry(
          commands,
          key,
          settings.trimArgs(),
          toFields(message),
        );
        id = eventId(epoch, entryId);
      } catch (error) {
        throw failure(operation, error, '; the event may or may not have been stored');
      }
      return { ...message, id, bytes: encodeWithId(id) };
    },

    async since(lastEventId) {
      const operation = `replay "${key}"`;
      await usable(operation);
      const tail = await tailPosition(operation);
      try {
        return await readReplay({ connection: commands, key, lastEventId, tail, encode, onError });
      } catch (error) {
        throw failure(operation, error);
      }
    },

    tail(onEvent, encodeMessage) {
      if (closing) throw new Error(`cannot tail "${key}": the Redis store is closed`);
      if (activeTail) {
        throw new Error(
          `the Redis store for "${key}" already has a tail: a store feeds one channel, so create one store per channel`,
        );
      }
      const connection = openConnection(settings.connection, `sse-tail:${key}`, {
        socketTimeout: blockMs + SILENCE_GRACE_MS,
      });
      const tail = startTail({ connection, key, blockMs, onEvent, encode: encodeMessage, onError });
      activeTail = tail;
      encode = encodeMessage;
      return () => {
        if (activeTail === tail) activeTail = undefined;
        const stopping = tail.stop();
        stoppingTails.add(stopping);
        void stopping.finally(() => stoppingTails.delete(stopping));
      };
    },

    close() {
      closing ??= (async () => {
        const tail = activeTail;
        activeTail = undefined;
        await Promise.all([tail?.stop(), ...stoppingTails]);
        if (ownsCommands) await closeConnection(commands, true);
        watch.dispose();
      })();
      return closing;
    },
  };
}
