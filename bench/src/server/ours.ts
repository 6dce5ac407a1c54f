import {
  type Channel,
  createChannel,
  type EngineStats,
  type SseOptions,
  type StreamContext,
  uriMatch,
  wrapDelay,
} from '@sse-middleware/core';
import { newHistogram, record } from '../histogram.js';
import { type KindContext, SSE_PATH } from './kind.js';
import { type BenchStore, openStore, percentilesMs } from './store.js';

/**
 * Our library as an app would use it: a channel source for broadcasts (`channel.publish`), or a
 * chunk generator paced by `wrapDelay` per stream (the original's polling model). Heartbeats are
 * off on every server of the benchmark, so all of them do the same work per event. The channel
 * keeps its events in memory, or in the Redis stream the config names (`store`).
 */
export function ourSetup(ctx: KindContext): {
  channel: Channel;
  options: SseOptions;
  store: BenchStore;
} {
  const store = openStore(ctx.config);
  const channel = createChannel(store.store ? { store: store.store } : {});
  const { mode, maxConnections, pollIntervalMs } = ctx.config;
  const base: SseOptions = {
    requestMatcher: uriMatch(SSE_PATH),
    maxConnections,
    heartbeat: 0,
    onError: () => {},
  };
  if (mode === 'broadcast')
    return { channel, store, options: { ...base, source: channel.source() } };
  const seqs = new WeakMap<StreamContext, number>();
  const generate = (_req: unknown, streamCtx: StreamContext) => {
    const seq = (seqs.get(streamCtx) ?? 0) + 1;
    seqs.set(streamCtx, seq);
    return { data: ctx.pollData(seq) };
  };
  const chunkGenerator = wrapDelay(generate, [pollIntervalMs, pollIntervalMs]);
  return { channel, store, options: { ...base, chunkGenerator } };
}

// One server kind per process, so one publisher: its counters live here.
let publishFailures = 0;
/** From `channel.publish()` to its promise resolving: with Redis, the XADD round trip. */
let publishLatency = newHistogram();

/** Publishes without waiting; a rejected publish is counted (and the first one logged). */
export function publishTo(channel: Channel): (data: string) => void {
  return (data) => {
    const started = process.hrtime.bigint();
    channel.publish('message', data).then(
      () => record(publishLatency, Number(process.hrtime.bigint() - started) / 1000),
      (error: unknown) => {
        publishFailures += 1;
        if (publishFailures === 1) console.error('channel.publish rejected:', error);
      },
    );
  };
}

export function resetPublishTimings(): void {
  publishLatency = newHistogram();
}

export function engineStats(stats: EngineStats): Record<string, number> {
  return {
    open: stats.open,
    rejected: stats.rejected,
    slowConsumerDisconnects: stats.slowConsumerDisconnects,
    droppedChunks: stats.droppedChunks,
    publishFailures,
    ...percentilesMs('publish', publishLatency),
  };
}
