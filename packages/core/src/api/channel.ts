import type { SseRequest } from '../adapter-kit/request.js';
import type { ChunkSource, StreamContext } from '../engine/chunk.js';
import { withOneClockReading } from '../engine/output.js';
import {
  PUSH_SOURCE,
  type PushDelivery,
  type PushSubscription,
  type PushUnsubscribe,
} from '../engine/push-source.js';
import {
  assertFunction,
  assertPlainObject,
  assertString,
  describeValue,
  invalid,
} from '../util/validate.js';
import { encodeEvent, SseEncodeError } from '../wire/encoder.js';
import {
  createMemoryStore,
  type EventStore,
  type ReplayGapReason,
  type StoredEvent,
} from './store.js';

/**
 * Event name → payload type, e.g. `{ price: { symbol: string; value: number }; message: string }`:
 * the default map, where any name goes. A channel takes any object type as its map (`E extends
 * object`), an `interface` included, which has no index signature and so is no `EventMap` itself.
 */
export type EventMap = Record<string, unknown>;

/**
 * A published event as a subscriber's filter sees it; checking `event` narrows `value`.
 * `data` is the serialised text every client gets; `value` is the payload as published, when it
 * was published by this process (events from other processes, through a shared store, have none).
 */
export type ChannelEvent<E extends object = EventMap> = {
  [K in keyof E & string]: {
    readonly id: string;
    readonly event: K;
    readonly data: string;
    readonly value: E[K] | undefined;
    readonly topic: string | undefined;
  };
}[keyof E & string];

export interface SubscribeOptions<E extends object = EventMap> {
  /** Only events published to one of these topics (and events without a topic). Default: every topic. */
  topics?: readonly string[] | undefined;
  /** Only events for which this returns true. */
  filter?: ((event: ChannelEvent<E>) => boolean) | undefined;
}

export interface PublishOptions {
  /** The topic subscribers select by. */
  topic?: string | undefined;
}

export interface ChannelStats {
  /** Events published since the channel was created. */
  published: number;
  /** Streams subscribed right now. */
  subscribers: number;
}

export interface ChannelOptions {
  /** Where events are kept for replay and get their ids. Default: `createMemoryStore()` (1000 events). */
  store?: EventStore | undefined;
  /** Told of a subscriber's filter that throws (that subscriber skips the event). Default: `console.error`. */
  onError?: ((error: unknown) => void) | undefined;
  /** Turns payloads into `data` text. Default: strings as they are, anything else `JSON.stringify`. */
  serializer?: ((value: unknown) => string) | undefined;
  /**
   * Let `publish` send the event names the library itself sends ({@link CONTROL_EVENTS}:
   * `error`, `shutdown`, `replay-gap`, `reauth`). Default `false`: they are refused with
   * `SseReservedEventError`, so that no publisher (or client of a publish endpoint) can forge them.
   */
  allowControlEvents?: boolean | undefined;
}

export interface Channel<E extends object = EventMap> {
  /**
   * Publishes one event to every subscriber: encoded once, the same bytes written to every
   * stream, kept in the store for replay. Resolves with its id. A refused event rejects with an
   * `SseEncodeError`, and nothing is published: a newline in the event name, say, data that the
   * serializer cannot turn into text (`SseSerializeError`: cyclic, too deep, a BigInt, missing),
   * or one of the library's own event names (`SseReservedEventError`).
   */
  publish<K extends keyof E & string>(
    event: K,
    data: E[K],
    options?: PublishOptions,
  ): Promise<{ id: string }>;
  /**
   * A `source` for the engine: each stream subscribes, first replaying what it missed after its
   * `Last-Event-ID` (or a `replay-gap` event when that cannot be done completely), then live.
   */
  source(
    options?: SubscribeOptions<E> | ((req: SseRequest, ctx: StreamContext) => SubscribeOptions<E>),
  ): ChunkSource;
  stats(): ChannelStats;
  /** Stops following a shared store's tail (see `EventStore.tail`). Publishing still works. */
  close(): void;
}

/**
 * The event a subscriber gets when its `Last-Event-ID` cannot be replayed completely. Its data is
 * {@link ReplayGap} as JSON.
 */
export const REPLAY_GAP_EVENT = 'replay-gap';

/** The event names the library sends itself, which channels refuse to publish by default. */
export const CONTROL_EVENTS: readonly string[] = Object.freeze([
  'error',
  'shutdown',
  REPLAY_GAP_EVENT,
  'reauth',
]);

/** How much of a client's `Last-Event-ID` a `replay-gap` event echoes. */
export const MAX_ECHOED_ID_LENGTH = 128;

/** The data of a `replay-gap` event. */
export interface ReplayGap {
  /** The client's `Last-Event-ID`, cut to {@link MAX_ECHOED_ID_LENGTH} characters. */
  lastEventId: string;
  /** `true` when `lastEventId` was cut. */
  truncated?: true;
  /** The oldest event that follows, or `null` when the store holds none. */
  oldestRetainedId: string | null;
  /** Why the replay is incomplete: the id is too old, or it is not one of this store's. */
  reason: ReplayGapReason;
}

/** A `publish` whose data the serializer cannot turn into text. Nothing was published. */
export class SseSerializeError extends SseEncodeError {
  override name = 'SseSerializeError';
}

/** A `publish` of an event name the library reserves (see {@link CONTROL_EVENTS}). Nothing was published. */
export class SseReservedEventError extends SseEncodeError {
  override name = 'SseReservedEventError';
}

/** The topics a subscriber asked for that its principal may read (all of those when it asked for none). */
function allowedTopics(
  asked: readonly string[] | undefined,
  readable: readonly string[],
): readonly string[] {
  if (asked === undefined) return readable;
  const may = new Set(readable);
  return asked.filter((topic) => may.has(topic));
}

/**
 * One stream's subscription, when it selects events (topics, a filter) or has some to skip: in
 * the channel's set while live, and its own way out of it (no closure per stream). A stream that
 * selects nothing is in the set as its delivery itself.
 */
class Subscriber implements PushUnsubscribe {
  /**
   * Events the stream already has when it goes live: those its replay sent (with an asynchronous
   * store, the replay can read an event before its publish fans it out) and, with a shared store,
   * those the client got from another process before this one's tail delivers them. They come
   * first, so this is dropped at the first fan-out event it does not cover.
   */
  skip: ((id: string) => boolean) | undefined = undefined;
  readonly #members: Set<Subscriber>;

  constructor(
    members: Set<Subscriber>,
    readonly topics: ReadonlySet<string> | undefined,
    readonly filter: ((event: ChannelEvent) => boolean) | undefined,
    readonly delivery: PushDelivery,
  ) {
    this.#members = members;
  }

  /** Goes live: fan-out reaches it from the next publish on. */
  join(): void {
    this.#members.add(this);
  }

  unsubscribe(): void {
    this.#members.delete(this);
  }
}

/** Live events published while a subscriber reads its replay, held until the replay is sent. */
interface Held {
  events: StoredEvent[];
  bytes: number;
  /** Called when the held events pass the stream's bound. */
  overflow(): void;
  maxBytes: number;
}

function replayGap(
  lastEventId: string,
  oldestRetainedId: string | null,
  reason: ReplayGapReason = 'not-retained',
): ReplayGap {
  if (lastEventId.length <= MAX_ECHOED_ID_LENGTH) return { lastEventId, oldestRetainedId, reason };
  return {
    lastEventId: lastEventId.slice(0, MAX_ECHOED_ID_LENGTH),
    truncated: true,
    oldestRetainedId,
    reason,
  };
}

const textEncoder = new TextEncoder();

const defaultSerializer = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/**
 * A broadcast channel: publish once, every subscribed stream gets it, in order, with replay.
 *
 * ```ts context=koa-app,koa-sse
 * import { createChannel, uriMatch } from '@sse-middleware/core';
 *
 * const prices = createChannel<{ price: { symbol: string; value: number } }>();
 * app.use(sse({ requestMatcher: uriMatch('/prices'), source: prices.source(), heartbeat: 15_000 }));
 * await prices.publish('price', { symbol: 'ACME', value: 42 });
 * ```
 */
export function createChannel<E extends object = EventMap>(
  options: ChannelOptions = {},
): Channel<E> {
  assertPlainObject('createChannel(options)', options);
  const store = options.store ?? createMemoryStore();
  if (typeof store?.append !== 'function' || typeof store.since !== 'function') {
    throw invalid('createChannel(options).store', 'an EventStore with append() and since()', store);
  }
  const serialize = options.serializer ?? defaultSerializer;
  assertFunction('createChannel(options).serializer', serialize);
  const allowControlEvents = options.allowControlEvents ?? false;
  if (typeof allowControlEvents !== 'boolean') {
    throw invalid('createChannel(options).allowControlEvents', 'a boolean', allowControlEvents);
  }

  /** Live streams that take every event: each is in the set as its delivery itself. */
  const everything = new Set<PushDelivery>();
  /** How a stream in `everything` leaves it. */
  const leave: PushUnsubscribe = { unsubscribe: (delivery) => everything.delete(delivery) };
  /** Live streams that select events (topics, a filter) or skip some after their replay. */
  const selective = new Set<Subscriber>();
  /** Streams still reading their replay: live events published meanwhile are held for them. */
  const replaying = new Set<Held>();
  /** Payloads as published here, until their event has been fanned out. */
  const values = new Map<string, unknown>();
  const reportError =
    options.onError ??
    ((error: unknown) => console.error('[sse-middleware] channel filter failed:', error));
  assertFunction('createChannel(options).onError', reportError);
  let published = 0;

  function matches(subscriber: Subscriber, stored: StoredEvent): boolean {
    if (subscriber.topics && stored.topic !== undefined && !subscriber.topics.has(stored.topic))
      return false;
    if (!subscriber.filter) return true;
    try {
      return subscriber.filter({
        id: stored.id,
        event: stored.event ?? 'message',
        data: stored.data,
        value: values.get(stored.id),
        topic: stored.topic,
      });
    } catch (error) {
      reportError(error);
      return false;
    }
  }

  function fanOut(stored: StoredEvent) {
    for (const held of replaying) {
      held.events.push(stored);
      held.bytes += stored.bytes.byteLength;
      if (held.bytes > held.maxBytes) held.overflow();
    }
    withOneClockReading(deliver, stored);
    values.delete(stored.id);
  }

  /** One event to every live stream it is for. */
  function deliver(stored: StoredEvent) {
    const { bytes } = stored;
    for (const delivery of everything) delivery.send(bytes);
    for (const member of selective) {
      if (member.skip) {
        if (member.skip(stored.id)) continue;
        member.skip = undefined;
      }
      if (matches(member, stored)) member.delivery.send(bytes);
    }
  }

  /** The data as text, or an `SseSerializeError` saying why it cannot be. */
  function serializeData(event: string, data: unknown): string {
    const what = `publish(${JSON.stringify(event)})`;
    if (data === undefined) {
      throw new SseSerializeError(
        `${what}: the data is missing (received undefined); publish '' for an event without data`,
      );
    }
    let text: unknown;
    try {
      text = serialize(data);
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new SseSerializeError(
        `${what}: the serializer cannot turn the data into text (${reason})`,
        {
          cause: error,
        },
      );
    }
    if (typeof text !== 'string') {
      throw new SseSerializeError(
        `${what}: the serializer must return a string, returned ${describeValue(text).slice(0, 200)}`,
      );
    }
    return text;
  }

  async function publish(event: string, data: unknown, publishOptions: PublishOptions = {}) {
    assertString('publish(event)', event);
    assertPlainObject('publish(options)', publishOptions);
    const { topic } = publishOptions;
    if (topic !== undefined) assertString('publish(options).topic', topic);
    if (!allowControlEvents && CONTROL_EVENTS.includes(event)) {
      throw new SseReservedEventError(
        `publish(${JSON.stringify(event)}): "${event}" is an event the library sends itself (${CONTROL_EVENTS.join(', ')}); createChannel({ allowControlEvents: true }) allows publishing it`,
      );
    }
    const text = serializeData(event, data);
    const type = event === 'message' ? undefined : event;
    // Encoding first validates the event, so a refused one is never stored or sent.
    const body = encodeEvent({ event: type, data: text });
    const stored = await store.append({ event: type, data: text, topic }, (id) =>
      textEncoder.encode(`${encodeEvent({ id }).slice(0, -1)}${body}`),
    );
    published += 1;
    if (stopTail)
      values.set(stored.id, data); // until the tail fans it out
    else {
      values.set(stored.id, data);
      fanOut(stored);
    }
    return { id: stored.id };
  }

  /** With a shared store, every process fans out what the store's log delivers, in its order. */
  const stopTail = store.tail?.(fanOut, (message, id) =>
    textEncoder.encode(encodeEvent({ id, event: message.event, data: message.data })),
  );

  function source(
    subscribeOptions:
      | SubscribeOptions<E>
      | ((req: SseRequest, ctx: StreamContext) => SubscribeOptions<E>) = {},
  ): ChunkSource {
    if (typeof subscribeOptions !== 'function') validateSubscribeOptions(subscribeOptions);
    /** Options given once: one set of topics for all their streams. */
    const sharedTopics =
      typeof subscribeOptions !== 'function' && subscribeOptions.topics
        ? new Set(subscribeOptions.topics)
        : undefined;
    const pushSource = (req: SseRequest, ctx: StreamContext): PushSubscription => {
      let chosen =
        typeof subscribeOptions === 'function' ? subscribeOptions(req, ctx) : subscribeOptions;
      if (typeof subscribeOptions === 'function') validateSubscribeOptions(chosen);
      let topics = sharedTopics ?? (chosen.topics && new Set(chosen.topics));
      const readable = ctx.principal?.topics;
      if (readable !== undefined) {
        chosen = { ...chosen, topics: allowedTopics(chosen.topics, readable) };
        topics = new Set(chosen.topics);
      }
      return {
        [PUSH_SOURCE]: (send) =>
          subscribe(chosen as SubscribeOptions, topics, ctx.lastEventId, send),
      };
    };
    return Object.assign(pushSource, { [PUSH_SOURCE]: true }) as unknown as ChunkSource;
  }

  function subscribe(
    chosen: SubscribeOptions,
    topics: ReadonlySet<string> | undefined,
    lastEventId: string | undefined,
    delivery: PushDelivery,
  ): Promise<PushUnsubscribe> | PushUnsubscribe {
    const filter = chosen.filter as Subscriber['filter'];
    if (lastEventId === undefined && topics === undefined && filter === undefined) {
      if (!delivery.aborted) everything.add(delivery);
      return leave;
    }
    const subscriber = new Subscriber(selective, topics, filter, delivery);
    if (lastEventId !== undefined) return replayThenJoin(subscriber, lastEventId);
    if (!delivery.aborted) subscriber.join();
    return subscriber;
  }

  /** Sends what the client missed, paced by it, then goes live (with what it already has to skip). */
  async function replayThenJoin(
    subscriber: Subscriber,
    lastEventId: string,
  ): Promise<PushUnsubscribe> {
    const delivery = subscriber.delivery;
    const held: Held = {
      events: [],
      bytes: 0,
      maxBytes: delivery.maxQueuedBytes,
      overflow: () => delivery.overflow(),
    };
    const replayed = new Set<string>();
    replaying.add(held);
    try {
      const replay = await store.since(lastEventId);
      const alreadyDelivered = replay.alreadyDelivered;
      const hasIt = (id: string) => replayed.has(id) || alreadyDelivered?.(id) === true;
      if (!replay.complete) {
        // The oldest event this subscriber may read: another topic's id is none of its business.
        const oldest = replay.events.find((stored) => matches(subscriber, stored));
        const gap = replayGap(lastEventId, oldest?.id ?? null, replay.gapReason);
        delivery.send(
          textEncoder.encode(encodeEvent({ event: REPLAY_GAP_EVENT, data: JSON.stringify(gap) })),
        );
      }
      const replayOne = async (stored: StoredEvent) => {
        replayed.add(stored.id);
        if (!matches(subscriber, stored)) return !delivery.aborted;
        delivery.send(stored.bytes);
        // A replay is a burst: pace it by the client, so a reconnecting client is not a slow one.
        const writable = delivery.whenWritable();
        if (writable) await writable;
        return !delivery.aborted;
      };
      for (const stored of replay.events) {
        if (!(await replayOne(stored))) return subscriber;
      }
      for (let i = 0; i < held.events.length; i += 1) {
        const stored = held.events[i]!;
        if (!hasIt(stored.id) && !(await replayOne(stored))) return subscriber;
      }
      subscriber.skip = hasIt;
    } finally {
      replaying.delete(held);
    }
    if (!delivery.aborted) subscriber.join();
    return subscriber;
  }

  return {
    publish: publish as Channel<E>['publish'],
    source,
    stats: () => ({ published, subscribers: everything.size + selective.size }),
    close: () => stopTail?.(),
  };

  function validateSubscribeOptions(value: unknown): void {
    assertPlainObject('channel.source(options)', value);
    const { topics, filter } = value as SubscribeOptions;
    if (
      topics !== undefined &&
      (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string'))
    ) {
      throw invalid('channel.source(options).topics', 'an array of strings', topics);
    }
    if (filter !== undefined) assertFunction('channel.source(options).filter', filter);
  }
}
