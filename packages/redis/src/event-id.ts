import { randomInt } from 'node:crypto';
import { parseStreamId, type StreamId } from './stream-id.js';

/**
 * SSE ids are `<epoch>.<entry id>`, e.g. `mz3k9q2a.1732412345678-0`: the epoch names one lifetime
 * of the stream (it is new whenever the stream is created again: deleted, flushed, lost by a Redis
 * restart), the entry id is the one Redis assigned. Clients treat them as opaque.
 */

/** The stream entry field that holds the epoch of the stream's lifetime that appended it. */
export const EPOCH_FIELD = 'epoch';

/**
 * How many of the stream's last entries are searched for its epoch: an entry added by another
 * program (or by this package before epochs) has none, and the epoch is that of the newest entry
 * that has one. A stream without such an entry among its last ones gets a new epoch.
 */
export const EPOCH_SCAN = 16;

const EPOCH_LENGTH = 8;
const EPOCH_SHAPE = /^[0-9a-z]{1,32}$/;
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A new epoch: 8 random base36 characters (about 41 bits), like the memory store's. */
export function newEpoch(): string {
  let epoch = '';
  for (let i = 0; i < EPOCH_LENGTH; i += 1) epoch += ALPHABET[randomInt(ALPHABET.length)];
  return epoch;
}

/** Whether `text` can be an epoch: what the append script keeps, and what ids may carry. */
export function isEpoch(text: string): boolean {
  return EPOCH_SHAPE.test(text);
}

/** The epoch an entry's fields carry, or `undefined` (another program's entry, an older version's). */
export function epochOf(fields: readonly string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === EPOCH_FIELD) return isEpoch(fields[i + 1]!) ? fields[i + 1]! : undefined;
  }
  return undefined;
}

/** The epoch of the newest entry that has one, of entries given newest first (`XREVRANGE`). */
export function newestEpoch(
  entries: readonly (readonly [string, readonly string[]])[],
): string | undefined {
  for (const [, fields] of entries) {
    const epoch = epochOf(fields);
    if (epoch !== undefined) return epoch;
  }
  return undefined;
}

/**
 * The SSE id of an entry: `<epoch>.<entry id>`, or the bare entry id for an entry without epoch
 * (which no replay resumes from: it always gets a gap).
 */
export function eventId(epoch: string | undefined, entryId: string): string {
  return epoch === undefined ? entryId : `${epoch}.${entryId}`;
}

/** A parsed SSE id. */
export interface EventId {
  readonly epoch: string;
  readonly entry: StreamId;
  /** The entry id as text, as Redis takes it. */
  readonly entryId: string;
}

/**
 * Parses `mz3k9q2a.1732412345678-0`; `undefined` for anything else: garbage, a bare entry id (an
 * entry without epoch, or an id from before epochs), the memory store's `mz3k9q2a.42`, overflow.
 */
export function parseEventId(text: string): EventId | undefined {
  const dot = text.indexOf('.');
  const epoch = text.slice(0, dot);
  if (dot < 0 || !isEpoch(epoch)) return undefined;
  const entryId = text.slice(dot + 1);
  const entry = parseStreamId(entryId);
  return entry ? { epoch, entry, entryId } : undefined;
}
