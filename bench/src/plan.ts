import type { Adapter, Variant } from './protocol.js';

/** The servers compared, per adapter: ours, the raw baseline, and the peer users would pick. */
export const ADAPTERS: ReadonlyArray<{
  adapter: Adapter;
  variants: readonly Variant[];
  raw: string;
  peer?: string;
  /** A server held beside the others in fan-out only, for what no server can write for less. */
  floor?: string;
}> = [
  {
    adapter: 'node-http',
    variants: ['ours', 'raw', 'peer'],
    raw: 'raw res.write on node:http',
    peer: 'better-sse 0.16.1',
    floor: 'socket.write() of one pre-framed Buffer per stream, on node:http',
  },
  {
    adapter: 'fastify',
    variants: ['ours', 'raw', 'peer'],
    raw: 'hijacked Fastify reply',
    peer: '@fastify/sse 0.6.0',
  },
  { adapter: 'koa', variants: ['ours', 'raw'], raw: 'ctx.respond = false on Koa' },
  {
    adapter: 'hono',
    variants: ['ours', 'raw', 'peer'],
    raw: 'raw Node response under @hono/node-server',
    peer: "Hono's streamSSE",
  },
  { adapter: 'uws', variants: ['ours', 'raw'], raw: 'corked writes on uWS' },
];

export interface Plan {
  name: 'quick' | 'full';
  /** Idle hold: streams ramped up in one server process, memory sampled at each level. */
  idle: number[];
  /**
   * Fan-out: per N, `events` back-to-back broadcasts per payload size, `rounds` times. With
   * `fanoutOnIdle` (quick), fan-out and latency run on the streams of the idle hold's last level
   * instead of in servers of their own.
   */
  fanoutOnIdle: boolean;
  fanout: Array<{ n: number; events: number; rounds: number }>;
  payloads: number[];
  /** Latency: `rate` events/s for `seconds`, at each fan-out N. */
  latency: { rate: number; seconds: number; payload: number };
  /**
   * Connect storm: `clients` at once against `maxConnections`, below and above the client count.
   * Cases with the same maxConnections share one server process, one after the other.
   */
  storm: Array<{ id: 'below' | 'above'; clients: number; maxConnections: number }>;
  /** Polling: N streams, each with its own interval generator. */
  poll: { n: number[]; intervalMs: number; seconds: number; payload: number };
  /**
   * Cross-node fan-out, once per run on node-http (it measures the store, not an adapter): per N,
   * `rounds` times, `single` (one server, in-memory channel) then `redis` (`nodes` servers on one
   * Redis stream, the N streams spread evenly over them, published on the first), both at `rate`
   * events/s for `seconds`, each in fresh server processes.
   */
  crossnode: { nodes: number; payload: number; sizes: CrossNodeSize[] };
  /** Streams per load-generator process (fd limit 20,000 per process). */
  perWorker: number;
  /** Connections being opened at once per load generator while ramping. */
  rampConcurrency: number;
  settleMs: number;
  /**
   * At the last idle level, a second sample this long after the first, once V8 has given back the
   * young generation that connecting grew (it shrinks it at a GC once its recent allocation rate
   * is low). 0: none.
   */
  settledIdleMs: number;
}

export interface CrossNodeSize {
  n: number;
  rate: number;
  seconds: number;
  rounds: number;
}

export const FULL: Plan = {
  name: 'full',
  idle: [1000, 10_000, 19_000],
  fanoutOnIdle: false,
  fanout: [
    { n: 1000, events: 200, rounds: 5 },
    { n: 10_000, events: 20, rounds: 5 },
  ],
  payloads: [64, 1024],
  latency: { rate: 10, seconds: 5, payload: 64 },
  storm: [
    { id: 'below', clients: 5000, maxConnections: 4000 },
    { id: 'above', clients: 5000, maxConnections: 6000 },
  ],
  poll: { n: [1000, 10_000], intervalMs: 1000, seconds: 4, payload: 64 },
  crossnode: {
    nodes: 3,
    payload: 64,
    sizes: [
      { n: 1000, rate: 20, seconds: 5, rounds: 5 },
      // One core fans an event out to 10,000 streams in a few hundred ms: at 20/s the publisher
      // falls behind (10 s of events took 65 s) and p99 measures that backlog, not the store.
      { n: 10_000, rate: 2, seconds: 10, rounds: 3 },
    ],
  },
  perWorker: 5000,
  rampConcurrency: 64,
  settleMs: 1000,
  settledIdleMs: 6000,
};

export const QUICK: Plan = {
  name: 'quick',
  idle: [500],
  fanoutOnIdle: true,
  fanout: [{ n: 500, events: 10, rounds: 1 }],
  payloads: [64, 1024],
  latency: { rate: 10, seconds: 0.5, payload: 64 },
  // One server (maxConnections 400): 500 clients at once, then 300.
  storm: [
    { id: 'below', clients: 500, maxConnections: 400 },
    { id: 'above', clients: 300, maxConnections: 400 },
  ],
  poll: { n: [300], intervalMs: 100, seconds: 0.5, payload: 64 },
  crossnode: { nodes: 3, payload: 64, sizes: [{ n: 300, rate: 20, seconds: 1, rounds: 1 }] },
  perWorker: 250,
  rampConcurrency: 64,
  settleMs: 100,
  settledIdleMs: 0,
};

export type ScenarioGroup = 'idle' | 'fanout' | 'storm' | 'poll' | 'crossnode';
export const GROUPS: readonly ScenarioGroup[] = ['idle', 'fanout', 'storm', 'poll', 'crossnode'];
/** Groups measured per adapter and variant; the others run once per run. */
export const PER_ADAPTER_GROUPS: readonly ScenarioGroup[] = ['idle', 'fanout', 'storm', 'poll'];
