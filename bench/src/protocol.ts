/** Messages between the orchestrator, the server under test and the load generators (over IPC). */

export type Adapter = 'node-http' | 'fastify' | 'koa' | 'hono' | 'uws';
/** `floor`: the least one write per stream per event costs (node:http only, fan-out only). */
export type Variant = 'ours' | 'raw' | 'peer' | 'floor';

/** How the server under test is started: one process per (kind, scenario group). */
export interface ServerConfig {
  /** `<adapter>-<variant>`, a key of the registry in `server/main.ts`. */
  kind: string;
  /** `broadcast`: one channel, events published by the orchestrator; `poll`: a timer per stream. */
  mode: 'broadcast' | 'poll';
  /** Concurrent streams allowed; 0 = unlimited. */
  maxConnections: number;
  pollIntervalMs: number;
  payloadBytes: number;
  /**
   * Where our channel keeps its events: `memory` (one process), or `redis`: a Redis stream at
   * `redisUrl`/`redisKey`, shared with every server started with the same key, whose tail fans
   * out every event any of them publishes. Our server kinds only.
   */
  store: 'memory' | 'redis';
  redisUrl?: string;
  redisKey?: string;
}

/** What the server reports about itself (process.cpuUsage / memoryUsage, after GC when asked). */
export interface ServerSample {
  rss: number;
  /** V8's young generation, as committed in memory (part of `rss`). */
  youngGeneration: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  connections: number;
  /** Events produced by poll-mode generators since start. */
  produced: number;
  /** Broadcasts since start. */
  published: number;
  /** Library counters, where the server kind has any (our engine's stats). */
  extra: Record<string, number>;
}

export type ToServer =
  | { id: number; op: 'sample'; gc: boolean }
  | { id: number; op: 'publish'; count: number; intervalMs: number; payloadBytes: number }
  /** Restarts the server kind's own timings (`KindServer.resetStats`). */
  | { id: number; op: 'reset-stats' }
  | { id: number; op: 'exit' };

export type FromServer =
  | { op: 'ready'; port: number }
  | { op: 'reply'; id: number; sample?: ServerSample; before?: ServerSample; wallMs?: number }
  | { op: 'fatal'; message: string };

export interface ConnectRequest {
  port: number;
  path: string;
  count: number;
  /** Connections being opened at once; `count` for a storm. */
  concurrency: number;
  /** Retries per connection after a connect error (0 in a storm). */
  retries: number;
  timeoutMs: number;
  /**
   * Loopback source addresses the sockets are bound to, round robin (so that no source address
   * runs out of ephemeral ports); absent: the kernel picks (127.0.0.1).
   */
  localAddresses?: string[];
  /**
   * A phase reset keeps each stream's sequence numbers, so that an event repeating one of an
   * earlier phase counts as repeated (`--scale`: one broadcast, so one event, a phase); the
   * streams' `seqExpected` then spans every phase. Absent: each phase starts afresh.
   */
  sequenceAcrossPhases?: boolean;
}

export interface ConnectResult {
  attempted: number;
  connected: number;
  rejected: number;
  errors: number;
  errorCodes: Record<string, number>;
  wallMs: number;
  /** Time from connect() to the response head, compressed HDR histogram (µs). */
  connectHistogram: string;
}

export interface WorkerCounts {
  open: number;
  events: number;
  dropped: number;
  /** Events a stream got again or out of order: a sequence number not above its last one. */
  repeated: number;
}

export interface WorkerStats extends WorkerCounts {
  /** Per-event latency, compressed HDR histogram (µs). */
  latencyHistogram: string;
  /** Poll mode: events a stream should have had in the phase (from its sequence numbers). */
  seqExpected: number;
  /** Streams that received nothing during the phase. */
  silent: number;
  cpuUserUs: number;
  cpuSystemUs: number;
}

export type ToWorker =
  | { id: number; op: 'connect'; request: ConnectRequest }
  | { id: number; op: 'counts' }
  | { id: number; op: 'stats'; reset: boolean }
  | { id: number; op: 'reset' }
  | { id: number; op: 'close' }
  | { id: number; op: 'exit' };

export type FromWorker =
  | { op: 'ready' }
  | {
      op: 'reply';
      id: number;
      connect?: ConnectResult;
      counts?: WorkerCounts;
      stats?: WorkerStats;
    };
