import { cpus, loadavg } from 'node:os';
import {
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks';
import type { Generations } from './generations.js';

/** The event loop over the last window (see {@link ProcessMetrics.eventLoop}). */
export interface EventLoopMetrics {
  /**
   * How late the event loop ran a timer due every {@link EVENT_LOOP_RESOLUTION_MS} ms, in ms
   * (`monitorEventLoopDelay`, less that interval): 0 for a loop that is never held up.
   */
  delayMs: { mean: number; p50: number; p99: number; max: number };
  /** The share of the window the event loop was busy, from 0 to 1 (`performance.eventLoopUtilization`). */
  utilization: number;
  /** The window these figures cover, in ms: since the previous window ended, at least one second. */
  windowMs: number;
}

export interface ProcessMetrics {
  uptimeSeconds: number;
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  loadAverage: number[];
  cores: number;
  now: number;
  /**
   * The event loop's delay and utilisation over the last window of at least a second (since the
   * first snapshot of this process, for the first second).
   */
  eventLoop: EventLoopMetrics;
  /** The example's streams and channel: `engine.stats()` and `channel.stats()` snapshots. */
  sse?: Record<string, unknown>;
  /** The echo model's generations, both `/v1/chat/completions` and `/chat`. */
  generations?: Generations;
}

/** How often the event-loop delay monitor's timer is due: a delay is how late it runs. */
export const EVENT_LOOP_RESOLUTION_MS = 10;

/** The shortest window the event-loop figures cover. */
const WINDOW_MS = 1000;

interface EventLoopSampler {
  histogram: IntervalHistogram;
  /** When the current window started (`performance.now()`) and the utilisation then. */
  since: number;
  utilization: EventLoopUtilization;
  /** The figures of the last window that ended, handed out until the next one does. */
  last: EventLoopMetrics | undefined;
}

let sampler: EventLoopSampler | undefined;

const ms = (nanoseconds: number) =>
  Number.isFinite(nanoseconds) ? Math.max(0, nanoseconds / 1e6 - EVENT_LOOP_RESOLUTION_MS) : 0;
const rounded = (value: number, digits = 3) => Number(value.toFixed(digits));

/**
 * The event loop's figures. The monitor starts with the first call (nothing runs for a process
 * that never asks); a window ends at the first call a second or more after it began, so every
 * stream polling `/app/metrics` in that second gets the same figures.
 */
function eventLoopMetrics(): EventLoopMetrics {
  const now = performance.now();
  if (sampler === undefined) {
    const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
    histogram.enable();
    sampler = {
      histogram,
      since: now,
      utilization: performance.eventLoopUtilization(),
      last: undefined,
    };
  }
  const windowMs = now - sampler.since;
  if (sampler.last !== undefined && windowMs < WINDOW_MS) return sampler.last;
  const { histogram } = sampler;
  const utilization = performance.eventLoopUtilization();
  const busy = performance.eventLoopUtilization(utilization, sampler.utilization).utilization;
  // A window shorter than one interval (the first call of all) has nothing to tell yet.
  const empty = histogram.count === 0 || windowMs < EVENT_LOOP_RESOLUTION_MS;
  const figures: EventLoopMetrics = {
    delayMs: {
      mean: empty ? 0 : rounded(ms(histogram.mean)),
      p50: empty ? 0 : rounded(ms(histogram.percentile(50))),
      p99: empty ? 0 : rounded(ms(histogram.percentile(99))),
      max: empty ? 0 : rounded(ms(histogram.max)),
    },
    utilization: empty || !Number.isFinite(busy) ? 0 : rounded(busy, 4),
    windowMs: Math.round(windowMs),
  };
  if (windowMs >= WINDOW_MS) {
    histogram.reset();
    sampler.since = now;
    sampler.utilization = utilization;
    sampler.last = figures;
  }
  return figures;
}

/** A snapshot of this process, for `/app/metrics`. */
export function processMetrics(
  sse?: Record<string, unknown>,
  generations?: Generations,
): ProcessMetrics {
  return {
    ...(sse ? { sse } : {}),
    ...(generations ? { generations } : {}),
    uptimeSeconds: Math.round(process.uptime()),
    memory: process.memoryUsage(),
    cpu: process.cpuUsage(),
    loadAverage: loadavg(),
    cores: cpus().length,
    eventLoop: eventLoopMetrics(),
    now: Date.now(),
  };
}
