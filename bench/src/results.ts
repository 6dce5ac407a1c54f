import type { Adapter, Variant } from './protocol.js';

/** One server's figures in one scenario. `null`: not measured there. */
export interface Measurement {
  cpuUsPerEvent: number | null;
  /** RSS growth per stream after forced GC, KiB (user space: kernel socket memory excluded). */
  memPerConnKB: number | null;
  /** heapUsed growth per stream after forced GC, KiB. */
  heapPerConnKB: number | null;
  /**
   * `memPerConnKB` sampled again once the process has been idle for `plan.settledIdleMs` (V8 has
   * shrunk its young generation by then), at the last idle level only.
   */
  settledMemPerConnKB?: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
  delivered: number;
  expected: number;
  /** Streams held at the end of the scenario (and, in a storm, those refused with a status). */
  connected: number;
  rejected: number;
  errors: number;
  dropped: number;
  connectP50Ms: number | null;
  connectP99Ms: number | null;
  connectWallMs: number | null;
  /** Deliveries per second of wall time while events were in flight. */
  deliveriesPerSec: number | null;
  /** CPU used by the load generators over the same phase, % of one core (near 100: client-bound). */
  clientCpuPct: number | null;
  /** Anything else worth a note: the library's own counters, the storm's limit… */
  extra: Record<string, number>;
  error?: string;
}

export type ScenarioResults = Partial<Record<Variant, Measurement>>;

/** results[adapter][scenario][variant] */
export type Results = Partial<Record<Adapter, Record<string, ScenarioResults>>>;

export function emptyMeasurement(): Measurement {
  return {
    cpuUsPerEvent: null,
    memPerConnKB: null,
    heapPerConnKB: null,
    p50Ms: null,
    p99Ms: null,
    p999Ms: null,
    maxMs: null,
    delivered: 0,
    expected: 0,
    connected: 0,
    rejected: 0,
    errors: 0,
    dropped: 0,
    connectP50Ms: null,
    connectP99Ms: null,
    connectWallMs: null,
    deliveriesPerSec: null,
    clientCpuPct: null,
    extra: {},
  };
}

/**
 * The set-ups of the cross-node scenario: one process in memory (`single`), one process on a
 * Redis stream (`redisOne`: what Redis itself adds), several on one stream (`redis`).
 */
export type Topology = 'single' | 'redisOne' | 'redis';

/** crossnode[`crossnode-<N>`][topology] */
export type CrossNodeResults = Record<string, Partial<Record<Topology, Measurement>>>;

/**
 * What going through Redis added to p99, ms: the median over rounds of redis p99 − single p99 of
 * the same round (adjacent in time, so a burst of load on the shared machine spoils one round, not
 * the figure); without rounds, the difference of the two p99s. `null` unless both were measured
 * cleanly.
 */
export function addedP99Ms(
  single: Measurement | undefined,
  redis: Measurement | undefined,
): number | null {
  if (!single || !redis || single.error || redis.error) return null;
  const differences: number[] = [];
  for (let i = 1; ; i += 1) {
    const a = single.extra[`p99Round${i}`];
    const b = redis.extra[`p99Round${i}`];
    if (a === undefined || b === undefined) break;
    differences.push(b - a);
  }
  if (differences.length === 0) {
    if (single.p99Ms === null || redis.p99Ms === null) return null;
    differences.push(redis.p99Ms - single.p99Ms);
  }
  differences.sort((x, y) => x - y);
  const mid = differences.length / 2;
  const median =
    differences.length % 2
      ? differences[Math.floor(mid)]!
      : (differences[mid - 1]! + differences[mid]!) / 2;
  return Number(median.toFixed(3));
}
