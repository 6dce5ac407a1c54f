import { assertPlainObject, invalid } from '../util/validate.js';

/**
 * How a resumable stream's producer ended. `abandoned`: its lease lapsed with no end stored (the
 * process that ran it died, or lost Redis), as a follower found.
 */
export type ResumableOutcome =
  | 'completed'
  | 'stopped'
  | 'failed'
  | 'expired'
  | 'too-large'
  | 'abandoned';

/** One event of a resumable stream: its sequence number (its SSE id) and its fields. */
export interface ResumableEvent {
  /** 1 for the first event, then 2, 3…: the event's `id:` on the wire. */
  readonly seq: number;
  readonly event?: string | undefined;
  readonly data: string;
}

/** The events of a stream after a position, and how it ended if it has. */
export interface ResumablePage {
  readonly events: readonly ResumableEvent[];
  /** Set once the producer has ended: no event follows the last one. */
  readonly outcome?: ResumableOutcome | undefined;
  /** The highest sequence number so far (0 before the first event). */
  readonly lastSeq: number;
  /** What `create` was given: new for every stream, even one whose id was used before. */
  readonly epoch: string;
  /** No outcome, and the producer's lease has lapsed: nobody will end this stream. */
  readonly abandoned?: boolean | undefined;
}

/**
 * Where resumable streams keep their events, so that any process can resume one: in memory
 * here ({@link createMemoryResumableStore}), or in Redis (`createRedisResumableStore` in
 * `@sse-middleware/redis`). One writer (the producer) per stream, any number of readers.
 */
export interface ResumableStore {
  /**
   * Creates stream `id`, kept for `ttlMs`, with its `epoch` (the prefix of its event ids, so that
   * an id from an earlier stream of the same id is told apart); `false` when it already exists.
   */
  create(id: string, ttlMs: number, epoch: string): Promise<boolean>;
  /**
   * The producer is alive for `leaseMs` more. The producer renews its lease while it runs; a
   * stream without an outcome whose lease has lapsed reads as `abandoned`.
   */
  renew(id: string, leaseMs: number): Promise<void>;
  /** Appends the next event (its `seq` is the previous one's plus one). */
  append(id: string, event: ResumableEvent): Promise<void>;
  /** Marks the end: readers get `outcome` after the last event. */
  finish(id: string, outcome: ResumableOutcome): Promise<void>;
  /** The events after `afterSeq`; `undefined` when the stream does not exist (or has expired). */
  read(id: string, afterSeq: number): Promise<ResumablePage | undefined>;
  /** Calls `onChange` after every append or finish of `id`, by any process. Returns how to stop. */
  watch(id: string, onChange: () => void): () => void;
  /** Asks the producer of `id`, wherever it runs, to stop; `false` when no producer is running. */
  requestStop(id: string): Promise<boolean>;
  /** Calls `onStop` when someone asks `id`'s producer to stop. Returns how to stop listening. */
  onStopRequest(id: string, onStop: () => void): () => void;
}

interface MemoryStream {
  readonly events: ResumableEvent[];
  readonly epoch: string;
  outcome: ResumableOutcome | undefined;
  /** `Date.now()` until which the producer holds its lease; `undefined` before the first renew. */
  leaseUntil: number | undefined;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface MemoryResumableStoreOptions {
  /** Called when a stream's time-to-live passes and its events are dropped. */
  onExpire?: ((id: string) => void) | undefined;
}

/** A {@link ResumableStore} in this process's memory: streams resume on this process only. */
export function createMemoryResumableStore(
  options: MemoryResumableStoreOptions = {},
): ResumableStore {
  assertPlainObject('createMemoryResumableStore(options)', options);
  for (const key of Object.keys(options)) {
    if (key !== 'onExpire')
      throw invalid(
        `createMemoryResumableStore(options).${key}`,
        'absent (the only option is onExpire)',
        key,
      );
  }
  const streams = new Map<string, MemoryStream>();
  const watchers = new Map<string, Set<() => void>>();
  const stoppers = new Map<string, Set<() => void>>();

  const notify = (listeners: Map<string, Set<() => void>>, id: string) => {
    for (const listener of [...(listeners.get(id) ?? [])]) listener();
  };
  const listen = (listeners: Map<string, Set<() => void>>, id: string, listener: () => void) => {
    let set = listeners.get(id);
    if (!set) {
      set = new Set();
      listeners.set(id, set);
    }
    const own = () => listener();
    set.add(own);
    return () => {
      set.delete(own);
      if (set.size === 0 && listeners.get(id) === set) listeners.delete(id);
    };
  };

  return {
    async create(id, ttlMs, epoch) {
      if (streams.has(id)) return false;
      const timer = setTimeout(() => {
        streams.delete(id);
        notify(watchers, id);
        options.onExpire?.(id);
      }, ttlMs);
      (timer as { unref?: () => void }).unref?.();
      streams.set(id, { events: [], epoch, outcome: undefined, leaseUntil: undefined, timer });
      return true;
    },
    async renew(id, leaseMs) {
      const stream = streams.get(id);
      if (stream && !stream.outcome) stream.leaseUntil = Date.now() + leaseMs;
    },
    async append(id, event) {
      const stream = streams.get(id);
      if (!stream || stream.outcome) return;
      stream.events.push(event);
      notify(watchers, id);
    },
    async finish(id, outcome) {
      const stream = streams.get(id);
      if (!stream || stream.outcome) return;
      stream.outcome = outcome;
      notify(watchers, id);
    },
    async read(id, afterSeq) {
      const stream = streams.get(id);
      if (!stream) return undefined;
      const { events } = stream;
      // seq n is at index n - 1.
      const from = Math.max(0, Math.min(afterSeq, events.length));
      const { outcome, leaseUntil } = stream;
      const abandoned = !outcome && leaseUntil !== undefined && leaseUntil < Date.now();
      return {
        events: events.slice(from),
        outcome,
        lastSeq: events.length,
        epoch: stream.epoch,
        ...(abandoned ? { abandoned } : {}),
      };
    },
    watch: (id, onChange) => listen(watchers, id, onChange),
    async requestStop(id) {
      const stream = streams.get(id);
      if (!stream || stream.outcome) return false;
      notify(stoppers, id);
      return true;
    },
    onStopRequest: (id, onStop) => listen(stoppers, id, onStop),
  };
}
