import type { EventStore, StoredEvent } from '@sse-middleware/core';
import { createRedisStore } from '@sse-middleware/redis';
import { type Histogram, newHistogram, record } from '../histogram.js';
import type { ServerConfig } from '../protocol.js';

/** The store behind our channel, with the timings that split a cross-node delivery into parts. */
export interface BenchStore {
  /** `undefined`: the channel's own in-memory store. */
  readonly store: EventStore | undefined;
  /** Resolves once the store fans out every event appended from now on (its tail is positioned). */
  ready(): Promise<void>;
  close(): Promise<void>;
  /**
   * Redis only, ms: `tail` from the publisher's hrtime stamp to this process's tail handing the
   * event to the channel (XADD + Redis + XREAD wake-up + parsing); `fanOut` from there until this
   * process has written the event to all its streams.
   */
  timings(): Record<string, number>;
  resetTimings(): void;
}

const ms = (histogram: Histogram, percentile: number) =>
  Number((histogram.getValueAtPercentile(percentile) / 1000).toFixed(3));

export function percentilesMs(name: string, histogram: Histogram): Record<string, number> {
  if (histogram.totalCount === 0) return {};
  return {
    [`${name}P50Ms`]: ms(histogram, 50),
    [`${name}P99Ms`]: ms(histogram, 99),
    [`${name}MaxMs`]: Number((histogram.maxValue / 1000).toFixed(3)),
  };
}

/** The publisher's `process.hrtime.bigint()` at the head of the event data (see payload.ts), ns. */
function stampNs(stored: StoredEvent): number {
  return Number(stored.data.slice(0, stored.data.indexOf(' ')));
}

export function openStore(config: ServerConfig): BenchStore {
  if (config.store === 'memory') {
    return {
      store: undefined,
      ready: async () => {},
      close: async () => {},
      timings: () => ({}),
      resetTimings: () => {},
    };
  }
  const { redisUrl: url, redisKey: key } = config;
  if (!url || !key) throw new Error('store "redis" needs redisUrl and redisKey');
  const redis = createRedisStore({ url, key });
  let tail = newHistogram();
  let fanOut = newHistogram();
  const store: EventStore = {
    append: (message, encode) => redis.append(message, encode),
    since: (lastEventId) => redis.since(lastEventId),
    tail: (onEvent, encode) =>
      redis.tail((stored) => {
        const received = process.hrtime.bigint();
        record(tail, (Number(received) - stampNs(stored)) / 1000);
        onEvent(stored);
        // node:http corks a response on write and uncorks it on the next tick: the socket writes
        // happen there, after the loop, and this tick comes after theirs.
        process.nextTick(() => record(fanOut, Number(process.hrtime.bigint() - received) / 1000));
      }, encode),
  };
  return {
    store,
    // A replay waits for the tail to know where the stream ends; what comes after, it delivers.
    ready: async () => {
      await redis.since('0-0');
    },
    close: () => redis.close(),
    timings: () => ({ ...percentilesMs('tail', tail), ...percentilesMs('fanOut', fanOut) }),
    resetTimings() {
      tail = newHistogram();
      fanOut = newHistogram();
    },
  };
}
