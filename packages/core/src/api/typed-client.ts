import type { Channel, EventMap, ReplayGap } from './channel.js';

// Structural types only: this file's declarations must compile in a Node-only project (no DOM
// lib, `skipLibCheck: false`), where `MessageEvent` is not generic and `AddEventListenerOptions`
// is not a global, as well as in a browser one.

/** The event map of a channel: `ChannelEvents<typeof prices>`. */
export type ChannelEvents<C> = C extends Channel<infer E> ? E : never;

/**
 * Text that is the JSON of a `T` (`JSON.parse` reads it back): a string, tagged with the type it
 * holds. `const gap: ReplayGap = JSON.parse(event.data)`.
 */
export type JsonText<T> = string & { readonly __jsonOf?: T };

/**
 * A message event as every `EventSource` dispatches it (the browser's, undici's, eventsource's):
 * the server's `data:` lines as text, its `id:` as `lastEventId`.
 */
export interface SseMessageEvent<Data extends string = string> {
  readonly type: string;
  readonly data: Data;
  readonly lastEventId: string;
  readonly origin: string;
}

/** The `replay-gap` event a channel sends when it cannot replay everything after `Last-Event-ID`. */
export interface ReplayGapEvent extends SseMessageEvent<JsonText<ReplayGap>> {
  readonly type: 'replay-gap';
}

/** The `shutdown` event graceful shutdown (`close()`) sends last: empty `data` by default. */
export interface ShutdownEvent extends SseMessageEvent {
  readonly type: 'shutdown';
}

/** The engine's `error` event, sent last when a stream fails: `data` is `Error - (Name) message`. */
export interface ServerErrorEvent extends SseMessageEvent {
  readonly type: 'error';
}

/**
 * The EventSource's own `error` (a lost connection, a refused response): a plain `Event` (an
 * `ErrorEvent` in undici and eventsource), without `data`. `event.data === undefined` tells it
 * from a {@link ServerErrorEvent}.
 */
export interface ConnectionErrorEvent {
  readonly type: 'error';
  readonly data?: undefined;
}

/** The EventSource's `open` event. */
export interface OpenEvent {
  readonly type: 'open';
}

/** The options `addEventListener` takes, as every EventSource implementation reads them. */
export interface SseListenerOptions {
  readonly once?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly capture?: boolean | undefined;
  readonly passive?: boolean | undefined;
}

/** The events a typed source types besides the channel's own: what the library itself sends. */
export interface ControlEvents {
  'replay-gap': ReplayGapEvent;
  shutdown: ShutdownEvent;
  error: ServerErrorEvent | ConnectionErrorEvent;
  open: OpenEvent;
}

/** What {@link typedEventSource} needs of an `EventSource`: the browser's, undici's and eventsource's all have it. */
export interface EventSourceLike {
  addEventListener(
    type: string,
    listener: (event: SseMessageEvent) => void,
    options?: boolean | SseListenerOptions,
  ): void;
  removeEventListener(type: string, listener: (event: SseMessageEvent) => void): void;
  close(): void;
  readonly readyState: number;
  readonly url: string;
}

/**
 * An `EventSource` whose event names are checked against a channel's event map, so a typo in a
 * listener is a compile error. `data` arrives as text, serialised by the channel's serializer.
 * The events the library sends itself are typed too: `replay-gap` ({@link ReplayGap} as JSON),
 * `shutdown`, and `error`, which is either the server's error event or the EventSource's own.
 */
export interface TypedEventSource<E extends object = EventMap> {
  addEventListener<K extends keyof ControlEvents>(
    type: K,
    listener: (event: ControlEvents[K]) => void,
    options?: boolean | SseListenerOptions,
  ): void;
  addEventListener<K extends Exclude<keyof E & string, keyof ControlEvents>>(
    type: K,
    listener: (event: SseMessageEvent) => void,
    options?: boolean | SseListenerOptions,
  ): void;
  removeEventListener<K extends keyof ControlEvents>(
    type: K,
    listener: (event: ControlEvents[K]) => void,
  ): void;
  removeEventListener<K extends Exclude<keyof E & string, keyof ControlEvents>>(
    type: K,
    listener: (event: SseMessageEvent) => void,
  ): void;
  close(): void;
  readonly readyState: number;
  readonly url: string;
}

/**
 * Views an `EventSource` (the browser's, undici's, or eventsource's) through a channel's event map.
 *
 * ```ts
 * import { type ReplayGap, typedEventSource } from '@sse-middleware/core';
 *
 * // On the server: export type PriceEvents = ChannelEvents<typeof prices>;
 * type PriceEvents = { price: { symbol: string; value: number } };
 *
 * const source = typedEventSource<PriceEvents>(new EventSource('/prices'));
 * source.addEventListener('price', (e) => console.log(JSON.parse(e.data)));
 * source.addEventListener('replay-gap', (e) => {
 *   const gap: ReplayGap = JSON.parse(e.data);
 *   console.log('missed events after', gap.lastEventId);
 * });
 * // @ts-expect-error: a typo in an event name is a compile error
 * source.addEventListener('pirce', () => {});
 * ```
 */
export function typedEventSource<E extends object = EventMap>(
  source: EventSourceLike,
): TypedEventSource<E> {
  return source as unknown as TypedEventSource<E>;
}
