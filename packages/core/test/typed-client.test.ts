import { describe, expectTypeOf, it } from 'vitest';
import {
  type ChannelEvents,
  createChannel,
  type TypedEventSource,
  typedEventSource,
} from '../src/index.js';

const prices = createChannel<{ price: { symbol: string; value: number }; note: string }>();
type PriceEvents = ChannelEvents<typeof prices>;

describe('typed client event names', () => {
  it('extracts the event map of a channel', () => {
    expectTypeOf<PriceEvents>().toEqualTypeOf<{
      price: { symbol: string; value: number };
      note: string;
    }>();
  });

  it('checks listener event names against the map', () => {
    const fake = {
      addEventListener() {},
      removeEventListener() {},
      close() {},
      readyState: 0,
      url: '',
    };
    const source = typedEventSource<PriceEvents>(fake as unknown as EventSource);
    expectTypeOf(source).toEqualTypeOf<TypedEventSource<PriceEvents>>();
    source.addEventListener('price', (event) => {
      expectTypeOf(event.data).toBeString();
    });
    source.addEventListener('note', () => {});
    source.addEventListener('error', () => {});
    // @ts-expect-error: not an event of this channel
    source.addEventListener('pirce', () => {});
  });
});
