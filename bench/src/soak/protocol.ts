/** Messages between the soak orchestrator, its servers and its load generators (over IPC). */
import type { Adapter } from '../protocol.js';

/** How one soak server process is started. */
export interface SoakServerConfig {
  adapter: Adapter;
  store: 'memory' | 'redis';
  redisUrl?: string;
  redisKey?: string;
  payloadBytes: number;
  /** The process exits after this, whatever happens to the orchestrator. */
  lifetimeMs: number;
}

export interface SoakServerSample {
  /** ms since the orchestrator's epoch (Date.now()). */
  at: number;
  /** Whether the memory figures were taken after a forced GC. */
  gc: boolean;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** Event-loop delay since the previous sample (`monitorEventLoopDelay`, less its 10 ms resolution), ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** `engine.connections.active`. */
  open: number;
  cpuUs: number;
  published: number;
  acked: number;
  failed: number;
}

/** What a publisher knows once every publish has settled. */
export interface PublishOutcome {
  /** The sequence number of the last event published (acknowledged or not). */
  lastSeq: number;
  acked: number;
  /** The sequence numbers whose `channel.publish()` rejected. */
  failedSeqs: number[];
}

export type ToSoakServer =
  | { id: number; op: 'sample'; gc: boolean }
  | { id: number; op: 'publish'; perSecond: number }
  | { id: number; op: 'stop-publishing' }
  | { id: number; op: 'exit' };

export type FromSoakServer =
  | { op: 'ready'; port: number }
  | { op: 'fatal'; message: string }
  | { op: 'reply'; id: number; sample?: SoakServerSample; outcome?: PublishOutcome };

export interface ClientCounts {
  /** Streams with a 200 response open now. */
  open: number;
  /** Streams waiting to reconnect, or connecting. */
  reconnecting: number;
  /** Events received since the start. */
  events: number;
  reconnects: number;
  /** Reconnect attempts that failed (connection error or a non-200 answer); each is retried. */
  reconnectFailures: number;
  /** Streams the server closed (not one of our drops). */
  serverCloses: number;
  /** Events with a sequence number not above the stream's last one. */
  duplicates: number;
  /** Sequence numbers skipped so far, summed over the streams (before the end check). */
  skipped: number;
  replayGaps: number;
  /** The lowest last sequence number over all streams (0 while one has none). */
  minLastSeq: number;
  cpuUs: number;
}

export interface ClientVerdict {
  streams: number;
  /** Streams that never received an event. */
  silent: number;
  /** Sequence number → streams that never received it, up to the final one. */
  missing: Array<[number, number]>;
  /** Sequence number of a stream's first event → streams. */
  firstSeqs: Array<[number, number]>;
  duplicates: number;
  replayGaps: number;
}

export type ToSoakClient =
  | { id: number; op: 'connect'; ports: number[]; count: number; concurrency: number }
  | { id: number; op: 'drop'; cycle: number; every: number }
  | { id: number; op: 'counts' }
  | { id: number; op: 'verify'; lastSeq: number }
  | { id: number; op: 'close' }
  | { id: number; op: 'exit' };

export type FromSoakClient =
  | { op: 'ready' }
  | {
      op: 'reply';
      id: number;
      connected?: number;
      dropped?: number;
      counts?: ClientCounts;
      verdict?: ClientVerdict;
    };
