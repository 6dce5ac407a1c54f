import { assertPlainObject, invalid } from './validate.js';

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

export interface ReplayResult {
  /** The retained events after the given id, oldest first. */
  readonly events: readonly StoredEvent[];
  /**
   * `false` when events after the given id may be missing: it is older than what the store
   * retains, or unknown to it (from before a restart, say). Subscribers then get a gap signal.
   */
  readonly complete: boolean;
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
  limit?: number;
}

/**
 * Keeps the last `limit` events in a ring buffer. Ids are `1`, `2`, `3`… per store; an id from
 * another run of the process is reported as a gap, never silently misread.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): EventStore {
  assertPlainObject('createMemoryStore(options)', options);
  const limit = options.limit ?? 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw invalid('createMemoryStore(options).limit', 'a positive integer', limit);
  }
  const ring: StoredEvent[] = [];
  let start = 0; // index in `ring` of the oldest event once it is full
  let lastSeq = 0;

  const oldestSeq = () => lastSeq - ring.length + 1;
  const at = (seq: number) => ring[(start + (seq - oldestSeq())) % ring.length]!;

  return {
    append(message, encode) {
      const id = String(lastSeq + 1);
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
      const seq = /^(0|[1-9]\d*)$/.test(lastEventId) ? Number(lastEventId) : Number.NaN;
      if (!Number.isSafeInteger(seq) || seq > lastSeq) return { events: all(), complete: false };
      const from = Math.max(seq + 1, oldestSeq());
      const events: StoredEvent[] = [];
      for (let s = from; s <= lastSeq; s += 1) events.push(at(s));
      return { events, complete: seq + 1 >= oldestSeq() };
    },
  };

  function all(): StoredEvent[] {
    const events: StoredEvent[] = [];
    for (let s = oldestSeq(); s <= lastSeq; s += 1) events.push(at(s));
    return events;
  }
}
