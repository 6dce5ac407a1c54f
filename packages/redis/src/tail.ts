import type { ChannelMessage, StoredEvent } from '@sse-middleware/core';
import { abortableDelay } from '@sse-middleware/core/adapter';
import type { Redis } from 'ioredis';
import { closeConnection, watchConnection } from './connection.js';
import { type RawEntry, toStoredEvent } from './entry.js';
import { asError, isReplyError } from './errors.js';
import { EPOCH_SCAN, epochOf, eventId, newestEpoch } from './event-id.js';
import { compareStreamIds, streamIdFromRedis, ZERO_ID } from './stream-id.js';

/** Entries read per `XREAD`: a burst after an outage is delivered in batches of this many. */
const READ_COUNT = 500;
const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 2000;

export interface TailOptions {
  /** A connection of the tail's own: `XREAD BLOCK` holds it. Closed by `stop()`. */
  readonly connection: Redis;
  readonly key: string;
  readonly blockMs: number;
  readonly onEvent: (stored: StoredEvent) => void;
  readonly encode: (message: ChannelMessage, id: string) => Uint8Array;
  readonly onError: (error: Error) => void;
}

/** Where a tail is: the last entry it delivered, and the epoch of the stream's lifetime it follows. */
export interface TailPosition {
  /** The id of the last entry delivered (at first, the stream's last entry; `0-0` for none). */
  readonly entryId: string;
  /** The epoch of the newest entry it delivered (or found when it started) that has one. */
  readonly epoch: string | undefined;
}

/** A running tail of the stream. */
export interface Tail {
  /** The last entry delivered (at first, the stream's last entry when the tail started). */
  position(): TailPosition | undefined;
  /** Resolves with {@link position} once it is known, or `undefined` if the tail stops first. */
  readonly positioned: Promise<TailPosition | undefined>;
  /** Stops reading and closes the connection. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Follows the stream from its current end: `XREAD BLOCK` from the last id delivered, always, so
 * after a lost connection it resumes exactly there, with no gap and no duplicate. Each entry is
 * delivered once, in stream order, to `onEvent`.
 *
 * When the stream starts a new lifetime under it (deleted and recreated, flushed, lost by a Redis
 * restart), the new entries carry a new epoch. The tail notices it at the first one `XREAD`
 * returns, or, when the new entries all have ids at or before its position (a Redis whose clock
 * is behind: `XREAD` returns none of them), at the next idle `XREAD` by looking at the last entry.
 * It then reads the stream again and delivers what it has not: the new lifetime's entries at or
 * before its old position, and everything after it.
 */
export function startTail(options: TailOptions): Tail {
  const { connection, key, blockMs, onEvent, encode, onError } = options;
  const stopping = new AbortController();
  let position: TailPosition | undefined;
  let announcePosition: (at: TailPosition | undefined) => void = () => {};
  const positioned = new Promise<TailPosition | undefined>((resolve) => {
    announcePosition = resolve;
  });

  function deliverOne(entry: RawEntry): void {
    const stored = toStoredEvent(entry, encode);
    if (stored instanceof Error) {
      onError(stored);
      return;
    }
    try {
      onEvent(stored);
    } catch (error) {
      onError(new Error(`delivering ${stored.id} failed`, { cause: error }));
    }
  }

  async function deliver(entries: readonly RawEntry[]): Promise<void> {
    for (const entry of entries) {
      const epoch = epochOf(entry[1]) ?? position?.epoch;
      if (position?.epoch !== undefined && epoch !== position.epoch) {
        await catchUp(epoch!);
        return; // the rest of this batch was read again and delivered
      }
      position = { entryId: entry[0], epoch };
      deliverOne(entry);
    }
  }

  /**
   * The stream has a new lifetime (`epoch`): reads it whole and delivers, in stream order, its
   * entries at or before the position (which `XREAD` skips) and every entry after the position;
   * then goes on from the stream's last entry. Delivers nothing if the read fails (it is retried).
   */
  async function catchUp(epoch: string): Promise<void> {
    const entries = (await connection.xrange(key, '-', '+')) as RawEntry[];
    const last = entries.at(-1);
    if (!last || !position) return;
    const before = streamIdFromRedis(position.entryId);
    for (const entry of entries) {
      const after = compareStreamIds(streamIdFromRedis(entry[0]), before) > 0;
      if (after || epochOf(entry[1]) === epoch) deliverOne(entry);
    }
    position = { entryId: last[0], epoch: newestEpoch([...entries].reverse()) ?? epoch };
  }

  /**
   * After an idle `XREAD`: whether the newest entry with an epoch is of a lifetime the tail has
   * not seen, at or before its position (so `XREAD` does not return it).
   */
  async function checkLifetime(): Promise<void> {
    if (position?.epoch === undefined) return;
    const found = await newestWithEpoch(connection, key);
    if (!found) return;
    const epoch = epochOf(found[1])!;
    const at = streamIdFromRedis(found[0]);
    if (epoch !== position.epoch && compareStreamIds(at, streamIdFromRedis(position.entryId)) <= 0)
      await catchUp(epoch);
  }

  async function run(): Promise<void> {
    // Knows why the connection went down; failures are reported below, once per outage.
    const watch = watchConnection(connection);
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        if (!(await untilReady(connection, stopping.signal))) break;
        if (position === undefined) {
          position = await lastEntry(connection, key);
          announcePosition(position);
        }
        const reply = (await connection.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          blockMs,
          'STREAMS',
          key,
          position.entryId,
        )) as [string, RawEntry[]][] | null;
        failures = 0;
        if (reply) for (const [, entries] of reply) await deliver(entries);
        else await checkLifetime();
      } catch (error) {
        if (stopping.signal.aborted) break;
        failures += 1;
        // One report per outage: the connection retries on its own, often.
        if (failures === 1) onError(describeFailure(key, position, error, watch.down));
        const backoff = Math.min(MIN_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
        await abortableDelay(backoff, stopping.signal);
      }
    }
    watch.dispose();
    announcePosition(position);
    if (!stopping.signal.aborted) {
      onError(new Error(`the tail of "${key}" stopped: its connection was closed for good`));
    }
  }

  const running = run();
  let stopped: Promise<void> | undefined;
  return {
    position: () => position,
    positioned,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await closeConnection(connection, false);
        await running;
      })();
      return stopped;
    },
  };
}

/** What to report when the tail's read fails: Redis's own answer, or why the connection went. */
function describeFailure(
  key: string,
  position: TailPosition | undefined,
  error: unknown,
  down: Error | undefined,
): Error {
  const from =
    position === undefined
      ? 'from the end of the stream'
      : `after ${eventId(position.epoch, position.entryId)}`;
  if (isReplyError(error)) {
    const cause = error as Error;
    return new Error(
      `the tail of "${key}" failed (${cause.message}); it retries, resuming ${from}`,
      {
        cause,
      },
    );
  }
  // A read cut short by a lost connection fails with a generic error; the connection knows why.
  const cause = down ?? asError(error);
  return new Error(
    `the tail of "${key}" lost Redis (${cause.message}); it resumes ${from} once Redis is back`,
    { cause },
  );
}

/**
 * The stream's last entry and the stream's epoch (that of the newest entry with one), or `0-0`
 * without epoch when it has no entry (or does not exist yet).
 */
async function lastEntry(connection: Redis, key: string): Promise<TailPosition> {
  const [last] = (await connection.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
  if (!last) return { entryId: ZERO_ID, epoch: undefined };
  const withEpoch = epochOf(last[1]) === undefined ? await newestWithEpoch(connection, key) : last;
  return { entryId: last[0], epoch: withEpoch && epochOf(withEpoch[1]) };
}

/**
 * The newest entry that has an epoch, among the last {@link EPOCH_SCAN}: almost always the last
 * one, read alone first (entries may be large).
 */
async function newestWithEpoch(connection: Redis, key: string): Promise<RawEntry | undefined> {
  const [last] = (await connection.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
  if (!last || epochOf(last[1]) !== undefined) return last;
  const newest = (await connection.xrevrange(key, '+', '-', 'COUNT', EPOCH_SCAN)) as RawEntry[];
  return newest.find((entry) => epochOf(entry[1]) !== undefined);
}

/**
 * Resolves `true` once the connection is ready, `false` when `signal` aborts first or the
 * connection has ended for good (its retry strategy gave up).
 */
function untilReady(connection: Redis, signal: AbortSignal): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  if (connection.status === 'end' || signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (ready: boolean) => {
      connection.off('ready', onReady);
      connection.off('end', onEnd);
      signal.removeEventListener('abort', onEnd);
      resolve(ready);
    };
    const onReady = () => settle(true);
    const onEnd = () => settle(false);
    connection.on('ready', onReady);
    connection.on('end', onEnd);
    signal.addEventListener('abort', onEnd);
  });
}
