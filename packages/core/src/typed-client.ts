import type { Channel, EventMap } from './channel.js';

/** The event map of a channel: `ChannelEvents<typeof prices>`. */
export type ChannelEvents<C> = C extends Channel<infer E> ? E : never;

/**
 * An `EventSource` whose event names are checked against a channel's event map, so a typo in a
 * listener is a compile error. `data` arrives as text, serialised by the channel's serializer.
 */
export interface TypedEventSource<E extends EventMap> {
  addEventListener<K extends keyof E & string>(
    type: K,
    listener: (event: MessageEvent<string>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: 'open' | 'error',
    listener: (event: Event) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof E & string>(
    type: K,
    listener: (event: MessageEvent<string>) => void,
  ): void;
  close(): void;
  readonly readyState: number;
  readonly url: string;
}

/**
 * Views an `EventSource` (the browser's, undici's, or eventsource's) through a channel's event map.
 *
 * ```ts
 * const source = typedEventSource<ChannelEvents<typeof prices>>(new EventSource('/prices'));
 * source.addEventListener('price', (e) => render(JSON.parse(e.data)));
 * source.addEventListener('pirce', …); // compile error
 * ```
 */
export function typedEventSource<E extends EventMap>(source: EventSource): TypedEventSource<E> {
  return source as unknown as TypedEventSource<E>;
}
