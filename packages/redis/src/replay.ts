import type { ChannelMessage, ReplayResult, StoredEvent } from '@sse-middleware/core';
import type { Redis } from 'ioredis';
import { type RawEntry, toStoredEvent } from './entry.js';
import { isReplyError } from './errors.js';
import {
  compareStreamIds,
  MAX_ID,
  parseStreamId,
  type StreamId,
  streamIdFromRedis,
} from './stream-id.js';

export interface ReplayQuery {
  readonly connection: Redis;
  readonly key: string;
  /** The client's `Last-Event-ID`, as received. */
  readonly lastEventId: string;
  /** The last id to include: the tail's position (`+` without a tail), so nothing comes twice. */
  readonly upTo: string;
  readonly encode: (message: ChannelMessage, id: string) => Uint8Array;
  readonly onError: (error: Error) => void;
}

/** What `XINFO STREAM` says about the stream, as far as replay needs it. */
interface StreamState {
  readonly lastGenerated: StreamId;
  readonly firstEntry: StreamId | undefined;
  /** The newest id ever deleted by `XDEL`; `undefined` before Redis 7. */
  readonly maxDeleted: StreamId | undefined;
}

const EMPTY: StreamState = {
  lastGenerated: { ms: 0n, seq: 0n },
  firstEntry: undefined,
  maxDeleted: undefined,
};

/**
 * The retained events after `lastEventId` (up to `upTo`), and whether that is all of them: it is
 * not when an entry after it was trimmed away, or when the id is malformed or newer than anything
 * this stream produced (another stream's, or one from before Redis lost its data). Then the
 * events are every retained one, as with the memory store.
 */
export async function readReplay(query: ReplayQuery): Promise<ReplayResult> {
  const { connection, key, lastEventId, upTo } = query;
  const after = parseStreamId(lastEventId);
  if (!after) return { events: await range(query, '-'), complete: false };

  const transaction = connection.multi().xinfo('STREAM', key);
  // Nothing comes after the bound, nor after the largest id (which Redis refuses as an exclusive start).
  const bound = upTo === '+' ? MAX_ID : streamIdFromRedis(upTo);
  if (compareStreamIds(after, bound) < 0) transaction.xrange(key, `(${lastEventId}`, upTo);
  const [[infoError, info] = [], [rangeError, entries] = [null, []]] =
    (await transaction.exec()) ?? [];
  if (rangeError) throw rangeError;
  const state = infoError ? stateOfMissingStream(infoError) : parseStreamInfo(info as unknown[]);

  if (compareStreamIds(after, state.lastGenerated) > 0) {
    return { events: await range(query, '-'), complete: false };
  }
  const events = toEvents(query, entries as RawEntry[]);
  const complete = isComplete(after, state);
  // The client is ahead of this process's tail (it got events from another process): they are
  // not replayed, and the tail will still deliver them here.
  if (compareStreamIds(after, bound) > 0) {
    return { events, complete, alreadyDelivered: (id) => isAtOrBefore(id, after) };
  }
  return { events, complete };
}

function isAtOrBefore(id: string, than: StreamId): boolean {
  const parsed = parseStreamId(id);
  return parsed !== undefined && compareStreamIds(parsed, than) <= 0;
}

/**
 * Whether no entry after `after` can be missing: `after` is still retained (or, with nothing
 * retained, is the last id of all), and no entry after it was deleted (`XDEL`, Redis 7+). An id
 * older than the oldest retained entry counts as a gap: Redis does not record which ids it
 * trimmed, and the id may come from a stream Redis lost.
 */
function isComplete(after: StreamId, state: StreamState): boolean {
  if (state.maxDeleted && compareStreamIds(state.maxDeleted, after) > 0) return false;
  return state.firstEntry
    ? compareStreamIds(after, state.firstEntry) >= 0
    : compareStreamIds(after, state.lastGenerated) === 0;
}

async function range(query: ReplayQuery, from: string): Promise<StoredEvent[]> {
  const entries = (await query.connection.xrange(query.key, from, query.upTo)) as RawEntry[];
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
  if (isReplyError(error) && /no such key/i.test((error as Error).message)) return EMPTY;
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
  const maxDeleted = text('max-deleted-entry-id');
  return {
    lastGenerated: streamIdFromRedis(last),
    firstEntry: first ? streamIdFromRedis(first[0]) : undefined,
    maxDeleted: maxDeleted === undefined ? undefined : streamIdFromRedis(maxDeleted),
  };
}
