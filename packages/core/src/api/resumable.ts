import type { ChunkSource } from '../engine/chunk.js';
import { ABORTED, createAbortRace } from '../util/abort.js';
import {
  assertFunction,
  assertPlainObject,
  describeValue,
  invalid,
  MAX_TIMER_MS,
} from '../util/validate.js';
import { encodeEvent, type SseEvent } from '../wire/encoder.js';
import {
  createMemoryResumableStore,
  type ResumableEvent,
  type ResumableOutcome,
  type ResumableStore,
} from './resumable-store.js';
import { randomEpoch } from './store.js';

/** What a producer yields: an event (`id` and `retry` are the stream's to set), or a string of data. */
export type ResumableChunk = string | Pick<SseEvent, 'event' | 'data'>;

/** Produces one resumable stream. `signal` aborts on `stop(id)`, at the time-to-live, or past the size cap. */
export type ResumableProducer = (
  signal: AbortSignal,
) => AsyncIterable<ResumableChunk> | Iterable<ResumableChunk>;

export interface ResumableStreamsOptions {
  /** Where the events are kept. Default: this process's memory. */
  store?: ResumableStore | undefined;
  /** How long a stream is kept from its start, in ms; a producer still running then is stopped. Default 10 minutes. */
  ttl?: number | undefined;
  /** At most this many events per stream; the producer is stopped past it (`too-large`). Default 10,000. */
  maxEvents?: number | undefined;
  /** At most this many bytes of data (UTF-16 code units) per stream, the same way. Default 16 MiB. */
  maxBytes?: number | undefined;
  /**
   * At most this many producers running on this process at once; `start()` past it rejects with
   * {@link SseStreamLimitError} (a client that starts streams and leaves cannot pile up work).
   * Default 1000.
   */
  maxRunning?: number | undefined;
  /**
   * How long a producer's lease lasts, in ms; it renews it every third of that while it runs. A
   * stream whose lease lapses with no end (its process died) ends for its followers as
   * `abandoned` instead of leaving them waiting until the time-to-live. Default 15000.
   */
  leaseMs?: number | undefined;
  /** Told of a producer that failed, or a store that refused an event. Default: `console.error`. */
  onError?: ((error: unknown, id: string) => void) | undefined;
}

/**
 * What a client asking for stream `id` gets: `404` when there is no such stream (or it has
 * expired), `204` when it has ended and the client has every event (an `EventSource` stops
 * reconnecting on a 204), else a source that replays what came after `Last-Event-ID`, follows the
 * rest live, and ends when the producer does.
 */
export type ResumeAnswer =
  | { readonly status: 404 | 204; readonly source?: undefined }
  | { readonly status: 200; readonly source: ChunkSource };

/** A producer this process started. */
export interface StartedStream {
  readonly id: string;
  /** The prefix of its event ids: `<epoch>.1`, `<epoch>.2`… */
  readonly epoch: string;
  /** Settles with how the producer ended, once its end is stored. */
  readonly done: Promise<ResumableOutcome>;
}

export interface ResumableStreams {
  /**
   * Starts producing stream `id`. The producer runs to its end whether or not anyone follows;
   * its events are kept in the store under `id`. Rejects with {@link SseStreamExistsError} when `id`
   * is taken.
   */
  start(id: string, producer: ResumableProducer, options?: StreamOwnership): Promise<StartedStream>;
  /**
   * What to answer a client that asks for `id` with this `Last-Event-ID` (see {@link ResumeAnswer}).
   * A stream started with an `owner` is found only for that owner: anyone else gets the 404 of a
   * stream that does not exist.
   */
  resume(
    id: string,
    lastEventId?: string | undefined,
    options?: StreamOwnership,
  ): Promise<ResumeAnswer>;
  /**
   * Stops the producer of `id` (of `options.owner`), on whichever process runs it: an explicit
   * call, unlike a client that leaves. `false` when no such producer is running.
   */
  stop(id: string, options?: StreamOwnership): Promise<boolean>;
  /** Producers running on this process. */
  readonly running: number;
  /** Stops this process's producers (each ends `stopped`) and waits for their ends to be stored. */
  close(): Promise<void>;
}

/**
 * Whose stream it is: the principal's key. Each owner has ids of its own, so a stream is resumed
 * and stopped only by its owner, and another's `start('chat-1')` is a stream apart.
 */
export interface StreamOwnership {
  owner?: string | undefined;
}

/** `start(id)` for an `id` that is already taken. */
export class SseStreamExistsError extends Error {
  override readonly name = 'SseStreamExistsError';
  readonly id: string;
  constructor(id: string) {
    super(`A resumable stream with the id ${describeValue(id)} already exists.`);
    this.id = id;
  }
}

/** `start()` while `maxRunning` producers are running on this process. */
export class SseStreamLimitError extends Error {
  override readonly name = 'SseStreamLimitError';
  readonly limit: number;
  constructor(limit: number) {
    super(`${limit} resumable streams are already running on this process (maxRunning).`);
    this.limit = limit;
  }
}

/** Ids are 1 to 200 characters, none of them a control character or whitespace. */
const STREAM_ID = /^[^\s\u0000-\u001f\u007f]{1,200}$/;
const EVENT_ID = /^([0-9A-Za-z]{1,16})\.(0|[1-9]\d{0,15})$/;
const DEFAULT_TTL_MS = 10 * 60_000;
const DEFAULT_MAX_EVENTS = 10_000;
const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_RUNNING = 1000;
const DEFAULT_LEASE_MS = 15_000;
const textEncoder = new TextEncoder();

/**
 * Streams that outlive their connection, for LLM generations and other per-request work: the
 * producer runs to completion, a client that drops reconnects with `Last-Event-ID` and gets what
 * it missed, several clients may follow one stream, and stopping is an explicit call.
 *
 * ```ts
 * import { createResumableStreams } from '@sse-middleware/core';
 *
 * const chats = createResumableStreams({ ttl: 600_000 });
 * const { epoch } = await chats.start('chat-1', async function* (signal) {
 *   for (const word of ['Hello ', 'world']) yield { data: word };
 * });
 * const answer = await chats.resume('chat-1', `${epoch}.1`); // replays event 2, then the end
 * ```
 */
export function createResumableStreams(options: ResumableStreamsOptions = {}): ResumableStreams {
  assertPlainObject('createResumableStreams(options)', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw invalid(
        `createResumableStreams(options).${key}`,
        `one of ${[...OPTION_KEYS].join(', ')}`,
        key,
      );
    }
  }
  const store = options.store ?? createMemoryResumableStore();
  if (typeof store !== 'object' || store === null || typeof store.create !== 'function') {
    throw invalid('createResumableStreams(options).store', 'a ResumableStore', store);
  }
  const ttl = options.ttl ?? DEFAULT_TTL_MS;
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TIMER_MS) {
    throw invalid(
      'createResumableStreams(options).ttl',
      `a positive integer of ms, at most ${MAX_TIMER_MS}`,
      ttl,
    );
  }
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw invalid('createResumableStreams(options).maxEvents', 'a positive integer', maxEvents);
  }
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw invalid('createResumableStreams(options).maxBytes', 'a positive integer', maxBytes);
  }
  const maxRunning = options.maxRunning ?? DEFAULT_MAX_RUNNING;
  if (!Number.isSafeInteger(maxRunning) || maxRunning < 1) {
    throw invalid('createResumableStreams(options).maxRunning', 'a positive integer', maxRunning);
  }
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 30 || leaseMs > MAX_TIMER_MS) {
    throw invalid('createResumableStreams(options).leaseMs', 'an integer of ms from 30', leaseMs);
  }
  const onError =
    options.onError ??
    ((error: unknown, id: string) =>
      console.error(`[sse-middleware] resumable stream ${id} failed:`, error));
  assertFunction('createResumableStreams(options).onError', onError);
  const report = (error: unknown, id: string) => {
    try {
      onError(error, id);
    } catch {
      // Nowhere left to report it.
    }
  };

  const producers = new Map<
    string,
    { stop: (outcome: ResumableOutcome) => void; done: Promise<ResumableOutcome> }
  >();

  let creating = 0;

  async function start(
    publicId: string,
    producer: ResumableProducer,
    ownership?: StreamOwnership,
  ): Promise<StartedStream> {
    assertStreamId('start(id)', publicId);
    assertFunction('start(id, producer)', producer);
    const id = ownedId('start', publicId, ownership);
    // Counted before the store's answer, so concurrent starts cannot pass the limit together.
    if (producers.size + creating >= maxRunning) throw new SseStreamLimitError(maxRunning);
    creating += 1;
    const epoch = randomEpoch();
    let created: boolean;
    try {
      created = await store.create(id, ttl, epoch);
    } finally {
      creating -= 1;
    }
    if (!created) throw new SseStreamExistsError(publicId);
    const renew = () => store.renew(id, leaseMs).catch((error: unknown) => report(error, id));
    await renew();
    const renewal = setInterval(renew, Math.floor(leaseMs / 3));
    (renewal as { unref?: () => void }).unref?.();
    const controller = new AbortController();
    let outcome: ResumableOutcome = 'completed';
    const stop = (why: ResumableOutcome) => {
      if (controller.signal.aborted) return;
      outcome = why;
      controller.abort();
    };
    const stopListener = store.onStopRequest(id, () => stop('stopped'));
    const expiry = setTimeout(() => stop('expired'), ttl);
    (expiry as { unref?: () => void }).unref?.();
    const done = produce(
      id,
      producer,
      controller.signal,
      () => outcome,
      (why) => stop(why),
    ).finally(() => {
      clearTimeout(expiry);
      clearInterval(renewal);
      stopListener();
      producers.delete(id);
    });
    producers.set(id, { stop, done });
    return { id: publicId, epoch, done };
  }

  async function produce(
    id: string,
    producer: ResumableProducer,
    signal: AbortSignal,
    outcomeSoFar: () => ResumableOutcome,
    stop: (why: ResumableOutcome) => void,
  ): Promise<ResumableOutcome> {
    let seq = 0;
    let size = 0;
    let outcome: ResumableOutcome;
    try {
      outcome = await drain(producer, signal, async (chunk) => {
        const event = toEvent(seq + 1, chunk);
        size += event.data.length;
        if (seq >= maxEvents || size > maxBytes) {
          stop('too-large');
          return;
        }
        seq += 1;
        await store.append(id, event);
      });
      if (signal.aborted) outcome = outcomeSoFar();
    } catch (error) {
      report(error, id);
      outcome = signal.aborted ? outcomeSoFar() : 'failed';
    }
    try {
      await store.finish(id, outcome);
    } catch (error) {
      report(error, id);
    }
    return outcome;
  }

  async function resume(
    publicId: string,
    lastEventId?: string,
    ownership?: StreamOwnership,
  ): Promise<ResumeAnswer> {
    assertStreamId('resume(id)', publicId);
    const id = ownedId('resume', publicId, ownership);
    const given = parseEventId(lastEventId);
    const page = await store.read(id, given?.seq ?? 0);
    if (!page) return { status: 404 };
    if (page.abandoned) void markAbandoned(id);
    // An id this stream has not issued: from an earlier stream of the same id, another store, the
    // future, or none of ours. The client gets the stream from its start, never a silent gap.
    const ours = given !== undefined && given.epoch === page.epoch && given.seq <= page.lastSeq;
    const after = ours ? given.seq : 0;
    if ((page.outcome || page.abandoned) && after >= page.lastSeq) return { status: 204 };
    return { status: 200, source: followSource(id, after) };
  }

  /** Stores the end of a stream whose producer is gone, so that every follower ends. */
  function markAbandoned(id: string): Promise<void> {
    return store.finish(id, 'abandoned').catch((error: unknown) => report(error, id));
  }

  /** Replays after `after`, then follows live until the end: one reader per client. */
  function followSource(id: string, after: number): ChunkSource {
    return (_req, ctx) => follow(id, after, ctx.signal);
  }

  async function* follow(id: string, after: number, signal: AbortSignal) {
    let cursor = after;
    let changed = true;
    let wake: (() => void) | undefined;
    const unwatch = store.watch(id, () => {
      changed = true;
      wake?.();
    });
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        if (!changed) {
          // Woken by a change, or after a lease's time, to look whether the producer is still there.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              changed = true;
              resolve();
            }, leaseMs);
            (timer as { unref?: () => void }).unref?.();
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
          continue;
        }
        changed = false;
        const page = await store.read(id, cursor);
        if (!page) return;
        for (const event of page.events) {
          if (event.seq <= cursor) continue;
          cursor = event.seq;
          yield textEncoder.encode(
            encodeEvent({ id: `${page.epoch}.${event.seq}`, event: event.event, data: event.data }),
          );
        }
        if (page.outcome && cursor >= page.lastSeq) return;
        if (page.abandoned && cursor >= page.lastSeq) {
          await markAbandoned(id);
          return;
        }
      }
    } finally {
      unwatch();
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function stop(publicId: string, ownership?: StreamOwnership): Promise<boolean> {
    assertStreamId('stop(id)', publicId);
    const id = ownedId('stop', publicId, ownership);
    const local = producers.get(id);
    if (local) {
      local.stop('stopped');
      return true;
    }
    return store.requestStop(id);
  }

  async function close(): Promise<void> {
    const running = [...producers.values()];
    for (const producer of running) producer.stop('stopped');
    await Promise.allSettled(running.map((producer) => producer.done));
  }

  return {
    start,
    resume,
    stop,
    get running() {
      return producers.size;
    },
    close,
  };
}

const OPTION_KEYS = new Set([
  'store',
  'ttl',
  'maxEvents',
  'maxBytes',
  'maxRunning',
  'leaseMs',
  'onError',
]);

/**
 * The store's id of `id` for its owner: `<owner, URI-encoded> <id>`. A stream id has no
 * whitespace, so no owned id is ever another owner's or an unowned one.
 */
function ownedId(method: string, id: string, ownership: StreamOwnership | undefined): string {
  if (ownership === undefined) return id;
  assertPlainObject(`${method}(…, options)`, ownership);
  const { owner } = ownership;
  if (owner === undefined) return id;
  if (typeof owner !== 'string' || owner === '') {
    throw invalid(`${method}(…, options).owner`, 'a non-empty string', owner);
  }
  return `${encodeURIComponent(owner)} ${id}`;
}

function assertStreamId(where: string, id: unknown): asserts id is string {
  if (typeof id !== 'string' || !STREAM_ID.test(id)) {
    throw invalid(where, '1 to 200 characters, no whitespace or control characters', id);
  }
}

/** A `Last-Event-ID` of the form these streams issue (`<epoch>.<seq>`), else `undefined`. */
function parseEventId(lastEventId: string | undefined): { epoch: string; seq: number } | undefined {
  const match = lastEventId === undefined ? null : EVENT_ID.exec(lastEventId);
  return match ? { epoch: match[1]!, seq: Number(match[2]) } : undefined;
}

function toEvent(seq: number, chunk: ResumableChunk): ResumableEvent {
  if (typeof chunk === 'string') return { seq, data: chunk };
  if (typeof chunk !== 'object' || chunk === null || typeof chunk.data !== 'string') {
    throw new TypeError(
      `a resumable producer yields strings or { event?, data } with string data, yielded ${describeValue(chunk)}`,
    );
  }
  // Encoded now so a field that would break the framing fails the producer, not a reader.
  encodeEvent({ event: chunk.event, data: chunk.data });
  return chunk.event === undefined
    ? { seq, data: chunk.data }
    : { seq, event: chunk.event, data: chunk.data };
}

/** Feeds every chunk to `take` until the producer ends or `signal` aborts (closing its iterator). */
async function drain(
  producer: ResumableProducer,
  signal: AbortSignal,
  take: (chunk: ResumableChunk) => Promise<void>,
): Promise<ResumableOutcome> {
  const iterable = producer(signal);
  const iterator =
    Symbol.asyncIterator in Object(iterable)
      ? (iterable as AsyncIterable<ResumableChunk>)[Symbol.asyncIterator]()
      : (iterable as Iterable<ResumableChunk>)[Symbol.iterator]();
  const race = createAbortRace(signal);
  let finished = false;
  try {
    while (!signal.aborted) {
      let step: IteratorResult<ResumableChunk> | typeof ABORTED;
      try {
        const next = race(iterator.next());
        step = next instanceof Promise ? await next : next;
      } catch (error) {
        finished = true;
        throw error;
      }
      if (step === ABORTED) break;
      if (step.done) {
        finished = true;
        return 'completed';
      }
      await take(step.value);
    }
    return 'stopped';
  } finally {
    if (!finished && typeof iterator.return === 'function') {
      Promise.resolve(iterator.return()).catch(() => {});
    }
  }
}
