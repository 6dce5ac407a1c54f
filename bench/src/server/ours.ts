import {
  type Channel,
  createChannel,
  type EngineStats,
  type SseOptions,
  type StreamContext,
  uriMatch,
  wrapDelay,
} from '@sse-middleware/core';
import { type KindContext, SSE_PATH } from './kind.js';

/**
 * Our library as an app would use it: a channel source for broadcasts (`channel.publish`), or a
 * chunk generator paced by `wrapDelay` per stream (the original's polling model). Heartbeats are
 * off on every server of the benchmark, so all of them do the same work per event.
 */
export function ourSetup(ctx: KindContext): { channel: Channel; options: SseOptions } {
  const channel = createChannel();
  const { mode, maxConnections, pollIntervalMs } = ctx.config;
  const base: SseOptions = {
    requestMatcher: uriMatch(SSE_PATH),
    maxConnections,
    heartbeat: 0,
    onError: () => {},
  };
  if (mode === 'broadcast') return { channel, options: { ...base, source: channel.source() } };
  const seqs = new WeakMap<StreamContext, number>();
  const generate = (_req: unknown, streamCtx: StreamContext) => {
    const seq = (seqs.get(streamCtx) ?? 0) + 1;
    seqs.set(streamCtx, seq);
    return { data: ctx.pollData(seq) };
  };
  const chunkGenerator = wrapDelay(generate, [pollIntervalMs, pollIntervalMs]);
  return { channel, options: { ...base, chunkGenerator } };
}

export function publishTo(channel: Channel): (data: string) => void {
  return (data) => {
    void channel.publish('message', data);
  };
}

export function engineStats(stats: EngineStats): Record<string, number> {
  return {
    open: stats.open,
    rejected: stats.rejected,
    slowConsumerDisconnects: stats.slowConsumerDisconnects,
    droppedChunks: stats.droppedChunks,
  };
}
