import { describe, expectTypeOf, it } from 'vitest';
import {
  type Channel,
  type ChannelEvent,
  type ChannelEvents,
  createChannel,
  type JsonText,
  type ReplayGap,
  type SseMessageEvent,
  type TypedEventSource,
  typedEventSource,
} from '../src/index.js';

const prices = createChannel<{ price: { symbol: string; value: number }; note: string }>();
type PriceEvents = ChannelEvents<typeof prices>;

/** An event map declared as an interface: it has no index signature, and is accepted all the same. */
interface ChatEvents {
  message: string;
  typing: { user: string };
}

const fake = {
  addEventListener() {},
  removeEventListener() {},
  close() {},
  readyState: 0,
  url: '',
};

describe('typed client event names', () => {
  it('extracts the event map of a channel', () => {
    expectTypeOf<PriceEvents>().toEqualTypeOf<{
      price: { symbol: string; value: number };
      note: string;
    }>();
  });

  it('checks listener event names against the map', () => {
    const source = typedEventSource<PriceEvents>(fake);
    expectTypeOf(source).toEqualTypeOf<TypedEventSource<PriceEvents>>();
    source.addEventListener('price', (event) => {
      expectTypeOf(event.data).toBeString();
      expectTypeOf(event.lastEventId).toBeString();
    });
    source.addEventListener('note', () => {});
    source.addEventListener('error', () => {});
    source.addEventListener('price', () => {}, { once: true, signal: undefined });
    // @ts-expect-error: not an event of this channel
    source.addEventListener('pirce', () => {});
    // @ts-expect-error: not an event of this channel
    source.removeEventListener('pirce', () => {});
  });

  it('takes a browser EventSource as it is', () => {
    const browser = fake as unknown as EventSource;
    expectTypeOf(typedEventSource<PriceEvents>(browser)).toEqualTypeOf<
      TypedEventSource<PriceEvents>
    >();
  });

  it('accepts an interface as the event map', () => {
    const chat = createChannel<ChatEvents>();
    expectTypeOf(chat).toEqualTypeOf<Channel<ChatEvents>>();
    expectTypeOf<ChannelEvents<typeof chat>>().toEqualTypeOf<ChatEvents>();
    expectTypeOf(chat.publish).parameter(0).toEqualTypeOf<'message' | 'typing'>();
    expectTypeOf(chat.publish<'typing'>)
      .parameter(1)
      .toEqualTypeOf<{ user: string }>();
    expectTypeOf<ChannelEvent<ChatEvents>['event']>().toEqualTypeOf<'message' | 'typing'>();
    chat.source({ filter: (e) => e.event === 'typing' });
    const source = typedEventSource<ChannelEvents<typeof chat>>(fake);
    source.addEventListener('typing', (event) => {
      expectTypeOf(event).toEqualTypeOf<SseMessageEvent>();
    });
    // @ts-expect-error: not an event of this interface
    source.addEventListener('typed', () => {});
    // @ts-expect-error: not an event of this interface
    void chat.publish('typed', { user: 'ada' });
  });

  it('types the events the library sends itself: replay-gap, shutdown, error, open', () => {
    const source = typedEventSource<PriceEvents>(fake);
    source.addEventListener('replay-gap', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'replay-gap'>();
      expectTypeOf(event.data).toEqualTypeOf<JsonText<ReplayGap>>();
      expectTypeOf(event.data).toMatchTypeOf<string>();
      const gap: ReplayGap = JSON.parse(event.data);
      expectTypeOf(gap.reason).toEqualTypeOf<'not-retained' | 'unknown-epoch'>();
      expectTypeOf(gap.oldestRetainedId).toEqualTypeOf<string | null>();
      expectTypeOf(gap.lastEventId).toEqualTypeOf<string>();
    });
    source.addEventListener('shutdown', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'shutdown'>();
      expectTypeOf(event.data).toEqualTypeOf<string>();
    });
    source.addEventListener('error', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'error'>();
      expectTypeOf(event.data).toEqualTypeOf<string | undefined>();
      if (event.data !== undefined) {
        // The server's error event: `Error - (Name) message`.
        expectTypeOf(event.lastEventId).toBeString();
      }
    });
    source.addEventListener('open', (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'open'>();
    });
    // @ts-expect-error: the data of a replay-gap event is JSON text, not a parsed object
    source.addEventListener('replay-gap', (event: { data: ReplayGap }) => event);
  });
});
