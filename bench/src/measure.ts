/** What every scenario does with the load generators' figures. */
import type { ServerSample } from './protocol.js';
import type { Measurement } from './results.js';
import type { MergedStats, WorkerPool } from './workers.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
/** The middle value (the lower of the two middle ones for an even count); 0 for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}
/**
 * Servers held together open their streams in this many slices, server by server: a stream
 * opened earlier costs its server more CPU per write (bench/README.md, Method), so no server
 * gets all the early ones.
 */
export const CONNECT_SLICES = 10;
/** The size of slice `i` of `total` cut into `slices`: the first `total % slices` get one more. */
export const sliceOf = (total: number, slices: number, i: number) =>
  Math.floor(total / slices) + (i < total % slices ? 1 : 0);
/** A server's CPU time, user + system, µs. */
export const cpuUs = (s: ServerSample) => s.cpuUserUs + s.cpuSystemUs;

/**
 * Polls the load generators until `expected` events arrived, progress stalls, time is up, or
 * `gone()` says a server crashed.
 */
export async function waitForEvents(
  pool: WorkerPool,
  gone: () => boolean,
  expected: number,
  timeoutMs: number,
  stallMs = 10_000,
) {
  const t0 = performance.now();
  let last = -1;
  let lastChange = t0;
  for (;;) {
    const counts = await pool.counts();
    const now = performance.now();
    if (counts.events >= expected) return { counts, ms: now - t0 };
    if (counts.events !== last) {
      last = counts.events;
      lastChange = now;
    }
    if (now - lastChange > stallMs || now - t0 > timeoutMs || gone())
      return { counts, ms: now - t0 };
    await sleep(expected > 50_000 ? 50 : 20);
  }
}

export function latencyInto(m: Measurement, stats: MergedStats) {
  if (stats.latency.totalCount === 0) return;
  m.p50Ms = round(stats.latency.getValueAtPercentile(50) / 1000, 3);
  m.p99Ms = round(stats.latency.getValueAtPercentile(99) / 1000, 3);
  m.p999Ms = round(stats.latency.getValueAtPercentile(99.9) / 1000, 3);
  m.maxMs = round(stats.latency.maxValue / 1000, 3);
}

/** CPU of the load generators over `wallMs`, % of one core. */
export function clientCpu(stats: MergedStats, wallMs: number): number | null {
  if (wallMs <= 0) return null;
  return round(((stats.cpuUserUs + stats.cpuSystemUs) / 1000 / wallMs) * 100, 1);
}
