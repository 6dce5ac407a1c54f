import { assertPlainObject, invalid } from '../util/validate.js';

/** What was published, before it got an id. `data` is already serialised. */
export interface ChannelMessage {
  readonly event: string | undefined;
  readonly data: string;
  readonly topic: string | undefined;
}

/** A published event as kept for replay: its id and the exact bytes every subscriber got. */
export interface StoredEvent extends ChannelMessage {
  readonly id: string;
  readonly bytes: Uint8Array;
}

/**
 * Why a replay cannot be complete: the id is older than what the store retains (`not-retained`),
 * or the store never issued it (`unknown-epoch`: an id from another run of the process, another
 * store, a stream that was deleted or recreated, an id from the future, or no id of ours at all).
 */
export type ReplayGapReason = 'not-retained' | 'unknown-epoch';

export interface ReplayResult {
  /** The retained events after the given id, oldest first; every retained event for an unknown id. */
  readonly events: readonly StoredEvent[];
  /**
   * `false` when events after the given id may be missing: it is older than what the store
   * retains, or unknown to it (from before a restart, say). Subscribers then get a gap signal.
   */
  readonly complete: boolean;
  /** Why `complete` is false (see {@link ReplayGapReason}). */
  readonly gapReason?: ReplayGapReason;
  /**
   * For a shared store whose tail may lag behind the client: a client that got events from
   * another process can come back with a `Last-Event-ID` this process's tail has not delivered
   * yet. True for ids at or before it; the channel skips those when the tail delivers them.
   */
  readonly alreadyDelivered?: (id: string) => boolean;
}

/**
 * Where a channel keeps its events for replay, and where their ids come from. The in-memory
 * store ships here; a shared one (Redis) makes ids and replay identical across processes.
 */
export interface EventStore {
  /** Assigns the next id, encodes with it (`encode(id)`), keeps the event, and returns it. */
  append(
    message: ChannelMessage,
    encode: (id: string) => Uint8Array,
  ): StoredEvent | Promise<StoredEvent>;
  /** The events after `lastEventId`. */
  since(lastEventId: string): ReplayResult | Promise<ReplayResult>;
  /**
   * For stores shared between processes: delivers every event appended by any process, in log
   * order, encoding it with `encode`. When a store has it, a channel fans out from here rather
   * than from its own publishes, so every process sends the same events in the same order.
   * Returns how to stop.
   */
  tail?(
    onEvent: (stored: StoredEvent) => void,
    encode: (message: ChannelMessage, id: string) => Uint8Array,
  ): () => void;
}

export interface MemoryStoreOptions {
  /** How many of the latest events to keep for replay. Default 1000. */
  limit?: number | undefined;
  /**
   * The prefix that tells this store's ids from every other store's: 1 to 16 letters and digits.
   * Default: 8 random base-36 characters, new for every store (and so for every run of a process).
   */
  epoch?: string | undefined;
}

const EPOCH_PATTERN = /^[0-9A-Za-z]{1,16}$/;

/** 8 random base-36 characters (about 41 bits), drawn without modulo bias: a new one per store. */
export function randomEpoch(): string {
  let epoch = '';
  const bytes = new Uint8Array(16);
  while (epoch.length < 8) {
    globalThis.crypto.getRandomValues(bytes);
    for (const byte of bytes) {
      // 252 = 7 × 36: the bytes above it would make the low digits likelier.
      if (byte < 252 && epoch.length < 8) epoch += (byte % 36).toString(36);
    }
  }
  return epoch;
}

/**
 * Keeps the last `limit` events in a ring buffer. Ids are `<epoch>.<n>` (`mz3k9q2a.1`,
 * `mz3k9q2a.2`…), opaque to clients: the epoch is new for every store, so an id from another run
 * of the process, another store, or the future is reported as a gap (`unknown-epoch`), never
 * silently misread as one of this store's.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): EventStore {
  assertPlainObject('createMemoryStore(options)', options);
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw invalid('createMemoryStore(options).limit', 'a positive integer', limit);
  }
  const epoch = options.epoch ?? randomEpoch();
  if (typeof epoch !== 'string' || !EPOCH_PATTERN.test(epoch)) {
    throw invalid('createMemoryStore(options).epoch', '1 to 16 letters and digits', epoch);
  }
  const prefix = `${epoch}.`;
  const ring: StoredEvent[] = [];
  let start = 0; // index in `ring` of the oldest event once it is full
  let lastSeq = 0;

  const oldestSeq = () => lastSeq - ring.length + 1;
  const at = (seq: number) => ring[(start + (seq - oldestSeq())) % ring.length]!;

  return {
    append(message, encode) {
      const id = prefix + String(lastSeq + 1);
      const stored: StoredEvent = { ...message, id, bytes: encode(id) };
      lastSeq += 1;
      if (ring.length < limit) ring.push(stored);
      else {
        ring[start] = stored;
        start = (start + 1) % limit;
      }
      return stored;
    },
    since(lastEventId) {
      const seq = sequenceOf(lastEventId);
      if (seq === undefined || seq > lastSeq) {
        return { events: all(), complete: false, gapReason: 'unknown-epoch' };
      }
      const from = Math.max(seq + 1, oldestSeq());
      const events: StoredEvent[] = [];
      for (let s = from; s <= lastSeq; s += 1) events.push(at(s));
      return seq + 1 >= oldestSeq()
        ? { events, complete: true }
        : { events, complete: false, gapReason: 'not-retained' };
    },
  };

  /** The sequence number of one of this store's ids; `undefined` for any other string. */
  function sequenceOf(id: string): number | undefined {
    if (!id.startsWith(prefix)) return undefined;
    const digits = id.slice(prefix.length);
    if (!/^(0|[1-9]\d{0,15})$/.test(digits)) return undefined;
    const seq = Number(digits);
    return Number.isSafeInteger(seq) ? seq : undefined;
  }

  function all(): StoredEvent[] {
    const events: StoredEvent[] = [];
    for (let s = oldestSeq(); s <= lastSeq; s += 1) events.push(at(s));
    return events;
  }
}
