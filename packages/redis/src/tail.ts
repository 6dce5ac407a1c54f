import type { ChannelMessage, StoredEvent } from '@sse-middleware/core';
import type { Redis } from 'ioredis';
import { closeConnection, watchConnection } from './connection.js';
import { type RawEntry, toStoredEvent } from './entry.js';
import { asError, isReplyError } from './errors.js';
import { ZERO_ID } from './stream-id.js';

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

/** A running tail of the stream. */
export interface Tail {
  /** The id of the last entry delivered (at first, the stream's last entry when the tail started). */
  position(): string | undefined;
  /** Resolves with {@link position} once it is known, or `undefined` if the tail stops first. */
  readonly positioned: Promise<string | undefined>;
  /** Stops reading and closes the connection. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Follows the stream from its current end: `XREAD BLOCK` from the last id delivered, always, so
 * after a lost connection it resumes exactly there, with no gap and no duplicate. Each entry is
 * delivered once, in stream order, to `onEvent`.
 */
export function startTail(options: TailOptions): Tail {
  const { connection, key, blockMs, onEvent, encode, onError } = options;
  const stopping = new AbortController();
  let position: string | undefined;
  let announcePosition: (id: string | undefined) => void = () => {};
  const positioned = new Promise<string | undefined>((resolve) => {
    announcePosition = resolve;
  });

  function deliver(entries: readonly RawEntry[]): void {
    for (const entry of entries) {
      position = entry[0];
      const stored = toStoredEvent(entry, encode);
      if (stored instanceof Error) {
        onError(stored);
        continue;
      }
      try {
        onEvent(stored);
      } catch (error) {
        onError(new Error(`delivering ${stored.id} failed`, { cause: error }));
      }
    }
  }

  async function run(): Promise<void> {
    // Knows why the connection went down; failures are reported below, once per outage.
    const watch = watchConnection(connection);
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        if (!(await untilReady(connection, stopping.signal))) break;
        if (position === undefined) {
          position = await lastEntryId(connection, key);
          announcePosition(position);
        }
        const reply = (await connection.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          blockMs,
          'STREAMS',
          key,
          position,
        )) as [string, RawEntry[]][] | null;
        failures = 0;
        for (const [, entries] of reply ?? []) deliver(entries);
      } catch (error) {
        if (stopping.signal.aborted) break;
        failures += 1;
        // One report per outage: the connection retries on its own, often.
        if (failures === 1) onError(describeFailure(key, position, error, watch.down));
        const backoff = Math.min(MIN_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS);
        await sleep(backoff, stopping.signal);
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
  position: string | undefined,
  error: unknown,
  down: Error | undefined,
): Error {
  const from = position === undefined ? 'from the end of the stream' : `after ${position}`;
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

/** The id of the stream's last entry, or `0-0` when it has none (or does not exist yet). */
async function lastEntryId(connection: Redis, key: string): Promise<string> {
  const [last] = (await connection.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
  return last?.[0] ?? ZERO_ID;
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

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}
