import type { ChannelMessage, ReplayResult, StoredEvent } from '@sse-middleware/core';
import type { Redis } from 'ioredis';
import { type RawEntry, toStoredEvent } from './entry.js';
import { isReplyError } from './errors.js';
import { EPOCH_SCAN, type EventId, epochOf, newestEpoch, parseEventId } from './event-id.js';
import { compareStreamIds, MAX_ID, type StreamId, streamIdFromRedis } from './stream-id.js';
import type { TailPosition } from './tail.js';

export interface ReplayQuery {
  readonly connection: Redis;
  readonly key: string;
  /** The client's `Last-Event-ID`, as received. */
  readonly lastEventId: string;
  /**
   * Where this process's tail is (`undefined` without a tail): a replay reads up to it, so
   * nothing reaches a subscriber twice.
   */
  readonly tail: TailPosition | undefined;
  readonly encode: (message: ChannelMessage, id: string) => Uint8Array;
  readonly onError: (error: Error) => void;
}

/** What `XINFO STREAM` says about the stream, as far as replay needs it. */
interface StreamState {
  /** The stream's last entry, whose epoch is almost always the stream's (see `EPOCH_SCAN`). */
  readonly lastEntry: RawEntry | undefined;
  readonly lastGenerated: StreamId;
  readonly firstEntry: StreamId | undefined;
  /** The newest id ever deleted by `XDEL`; `undefined` before Redis 7. */
  readonly maxDeleted: StreamId | undefined;
}

const MISSING: StreamState = {
  lastEntry: undefined,
  lastGenerated: { ms: 0n, seq: 0n },
  firstEntry: undefined,
  maxDeleted: undefined,
};

/**
 * The retained events after `lastEventId` (up to the tail), and whether that is all of them.
 * - An id this lifetime of the stream never issued (another epoch: the stream was deleted,
 *   flushed or lost since, or it is another store's; a malformed id; an id newer than anything
 *   the stream produced) gets every retained event, `gapReason: 'unknown-epoch'`.
 * - An id of this lifetime older than the oldest retained entry, or with an entry after it
 *   deleted by `XDEL`, gets the retained events after it, `gapReason: 'not-retained'`.
 * The epoch and the range are read in one `MULTI`, so they are of the same stream.
 */
export async function readReplay(query: ReplayQuery): Promise<ReplayResult> {
  const { connection, key, lastEventId, tail } = query;
  const after = parseEventId(lastEventId);
  if (!after) return unknownEpoch(query);

  const transaction = connection.multi().xinfo('STREAM', key);
  // What this process's tail delivered of the id's lifetime: up to its position, or nothing yet
  // when it follows another lifetime (it has not seen this one) or has seen no entry.
  const bound = !tail
    ? MAX_ID
    : tail.epoch === after.epoch
      ? streamIdFromRedis(tail.entryId)
      : ZERO;
  // Nothing comes after the bound, nor after the largest id (which Redis refuses as an exclusive start).
  if (compareStreamIds(after.entry, bound) < 0) {
    transaction.xrange(key, `(${after.entryId}`, tail ? tail.entryId : '+');
  }
  const [[infoError, info] = [], [rangeError, entries] = [null, []]] =
    (await transaction.exec()) ?? [];
  if (rangeError) throw rangeError;
  const state = infoError ? stateOfMissingStream(infoError) : parseStreamInfo(info as unknown[]);
  const epoch = state.lastEntry ? await epochOfStream(query, state.lastEntry) : undefined;

  // Another lifetime's id, or one from the future of this lifetime (lost by Redis, say).
  if (after.epoch !== epoch || compareStreamIds(after.entry, state.lastGenerated) > 0) {
    return unknownEpoch(query);
  }
  const events = toEvents(query, entries as RawEntry[]);
  const gap = isComplete(after.entry, state)
    ? { complete: true }
    : { complete: false, gapReason: 'not-retained' as const };
  // The client is ahead of this process's tail (it got events from another process): they are
  // not replayed, and the tail will still deliver them here.
  if (compareStreamIds(after.entry, bound) > 0) {
    return { events, ...gap, alreadyDelivered: (id) => isAtOrBefore(id, after) };
  }
  return { events, ...gap };
}

const ZERO: StreamId = { ms: 0n, seq: 0n };

/**
 * The epoch of the stream's lifetime: its last entry's, read in the same `MULTI` as the range;
 * or, when another program added that entry without one, that of the newest entry with one (one
 * more read, rare: a stream is written by its stores).
 */
async function epochOfStream(query: ReplayQuery, last: RawEntry): Promise<string | undefined> {
  const epoch = epochOf(last[1]);
  if (epoch !== undefined) return epoch;
  const newest = (await query.connection.xrevrange(
    query.key,
    '+',
    '-',
    'COUNT',
    EPOCH_SCAN,
  )) as RawEntry[];
  return newestEpoch(newest);
}

/** Every retained event (up to the tail), for an id the stream's current lifetime never issued. */
async function unknownEpoch(query: ReplayQuery): Promise<ReplayResult> {
  return { events: await range(query, '-'), complete: false, gapReason: 'unknown-epoch' };
}

/**
 * Whether the tail delivering `id` delivers what the client already has: an event of the
 * client's lifetime at or before its id, or one of another lifetime (a tail that lags behind a
 * reset the client is past).
 */
function isAtOrBefore(id: string, than: EventId): boolean {
  const parsed = parseEventId(id);
  if (!parsed) return false;
  return parsed.epoch !== than.epoch || compareStreamIds(parsed.entry, than.entry) <= 0;
}

/**
 * Whether no entry after `after` can be missing: `after` is still retained (or, with nothing
 * retained, is the last id of all), and no entry after it was deleted (`XDEL`, Redis 7+). An id
 * older than the oldest retained entry counts as a gap: Redis does not record which ids it
 * trimmed.
 */
function isComplete(after: StreamId, state: StreamState): boolean {
  if (state.maxDeleted && compareStreamIds(state.maxDeleted, after) > 0) return false;
  return state.firstEntry
    ? compareStreamIds(after, state.firstEntry) >= 0
    : compareStreamIds(after, state.lastGenerated) === 0;
}

async function range(query: ReplayQuery, from: string): Promise<StoredEvent[]> {
  const upTo = query.tail ? query.tail.entryId : '+';
  const entries = (await query.connection.xrange(query.key, from, upTo)) as RawEntry[];
  return toEvents(query, entries);
}

function toEvents(query: ReplayQuery, entries: readonly RawEntry[]): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const entry of entries) {
    const stored = toStoredEvent(entry, query.encode);
    if (stored instanceof Error) query.onError(stored);
    else events.push(stored);
  }
  return events;
}

function stateOfMissingStream(error: unknown): StreamState {
  // XINFO on a key that does not exist (yet) answers "ERR no such key".
  if (isReplyError(error) && /no such key/i.test((error as Error).message)) return MISSING;
  throw error;
}

/** Reads the flat `[field, value, …]` reply of `XINFO STREAM`. */
function parseStreamInfo(reply: readonly unknown[]): StreamState {
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  const text = (name: string) => {
    const value = fields.get(name);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  };
  const last = text('last-generated-id');
  if (last === undefined) throw new Error('XINFO STREAM answered without a last-generated-id');
  const first = fields.get('first-entry') as RawEntry | null | undefined;
  const lastEntry = fields.get('last-entry') as RawEntry | null | undefined;
  const maxDeleted = text('max-deleted-entry-id');
  return {
    lastEntry: lastEntry ?? undefined,
    lastGenerated: streamIdFromRedis(last),
    firstEntry: first ? streamIdFromRedis(first[0]) : undefined,
    maxDeleted: maxDeleted === undefined ? undefined : streamIdFromRedis(maxDeleted),
  };
}
