/** What `pnpm bench --scale` measured: bench/results/scale.json, read back by docs/benchmarks.md. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../measure.js';
import type { KernelPerStream, KernelSnapshot } from './kernel.js';
import type { ScalePlan } from './plan.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SCALE_JSON = join(repoRoot, 'bench', 'results', 'scale.json');
export const SCALE_MARKDOWN = join(repoRoot, 'docs', 'benchmarks-scale.md');

/** One broadcast: one event to every stream, published on the first server. */
export interface BroadcastFigures {
  delivered: number;
  expected: number;
  /** Streams that did not get it, and events a stream got twice or out of order. */
  silent: number;
  repeated: number;
  dropped: number;
  /** From the publisher's hrtime stamp (before XADD) to a client parsing the event, ms. */
  p50Ms: number;
  p99Ms: number;
  /** The last of all deliveries: the broadcast's completion. */
  maxMs: number;
  /** CPU of all servers / all load generators over the broadcast, µs. */
  serverCpuUs: number;
  clientCpuUs: number;
}

export interface ServerFigures {
  kind: string;
  streams: number;
  /** RSS and heapUsed after forced GC, with the streams held, and their growth per stream. */
  rssMiB: number;
  rssPerStreamKiB: number;
  heapPerStreamKiB: number;
  /** Server CPU per delivery over the measured broadcasts, µs. */
  cpuUsPerDelivery: number;
  /** node-http only (server/store.ts): publisher stamp → this server's tail, and its fan-out. */
  tailP99Ms?: number;
  fanOutP99Ms?: number;
}

export interface ScaleResult {
  date: string;
  command: string;
  durationS: number;
  plan: ScalePlan;
  machine: Record<string, string | number>;
  ramp: { wallMs: number; connectP50Ms: number; connectP99Ms: number; errors: number };
  servers: ServerFigures[];
  kernel: {
    before: KernelSnapshot;
    held: KernelSnapshot;
    afterBroadcasts: KernelSnapshot;
    /** Held minus before, per stream (both ends of each connection: it is loopback). */
    perStream: KernelPerStream;
  };
  broadcasts: BroadcastFigures[];
  /** Every delivery of every measured broadcast in one histogram. */
  all: {
    delivered: number;
    expected: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
  };
  /** Per published event, from redis-server's INFO commandstats over the measured broadcasts. */
  redisCallsPerEvent: Record<string, number>;
  /** All servers' CPU per delivery, and the load generators', µs. */
  serverCpuUsPerDelivery: number;
  clientCpuUsPerDelivery: number;
  failures: string[];
}

/** The last full `--scale` run, if there is one. */
export function loadScaleResult(): ScaleResult | undefined {
  try {
    return JSON.parse(readFileSync(SCALE_JSON, 'utf8')) as ScaleResult;
  } catch {
    return undefined;
  }
}

/** The figures the summary in docs/benchmarks.md quotes. */
export function headline(result: ScaleResult) {
  const { servers, kernel, broadcasts, all } = result;
  const streams = servers.reduce((a, s) => a + s.streams, 0);
  const rssKiB = servers.reduce((a, s) => a + s.rssPerStreamKiB * s.streams, 0) / streams;
  const byKind: Record<string, { rss: number; cpu: number; streams: number }> = {};
  for (const s of servers) {
    const kind = byKind[s.kind] ?? { rss: 0, cpu: 0, streams: 0 };
    kind.rss += s.rssPerStreamKiB * s.streams;
    kind.cpu += s.cpuUsPerDelivery * s.streams;
    kind.streams += s.streams;
    byKind[s.kind] = kind;
  }
  const kinds = Object.entries(byKind).map(([kind, k]) => ({
    kind,
    servers: servers.filter((s) => s.kind === kind).length,
    rssPerStreamKiB: k.rss / k.streams,
    cpuUsPerDelivery: k.cpu / k.streams,
  }));
  const { cachesBytes, tcpMemBytes, tcpSockets } = kernel.perStream;
  return {
    streams,
    servers: servers.length,
    serverRssPerStreamKiB: rssKiB,
    /** Per server kind: RSS per stream and CPU per delivery, weighted by streams. */
    kinds,
    kernelPerStreamKiB: (cachesBytes + tcpMemBytes) / 1024,
    kernelPerEndKiB: tcpSockets > 0 ? (cachesBytes + tcpMemBytes) / 1024 / tcpSockets : 0,
    medianP50Ms: median(broadcasts.map((b) => b.p50Ms)),
    medianP99Ms: median(broadcasts.map((b) => b.p99Ms)),
    worstP99Ms: Math.max(...broadcasts.map((b) => b.p99Ms)),
    all,
    complete: all.delivered === all.expected && result.failures.length === 0,
  };
}
