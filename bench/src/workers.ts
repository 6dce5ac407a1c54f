/** The pool of load-generator processes, all pinned to the clients' CPU. */
import * as hdr from 'hdr-histogram-js';
import { newHistogram } from './histogram.js';
import { Child, PINNING } from './proc.js';
import type {
  ConnectRequest,
  ConnectResult,
  FromWorker,
  WorkerCounts,
  WorkerStats,
} from './protocol.js';

export interface MergedConnect extends Omit<ConnectResult, 'connectHistogram'> {
  p50Ms: number;
  p99Ms: number;
}

export interface MergedStats extends Omit<WorkerStats, 'latencyHistogram'> {
  latency: ReturnType<typeof newHistogram>;
}

export class WorkerPool {
  private constructor(private readonly children: Array<Child<FromWorker>>) {}

  static async start(count: number, script: string): Promise<WorkerPool> {
    const children = Array.from(
      { length: count },
      (_, i) => new Child<FromWorker>(`load-generator-${i}`, script, [], PINNING.clients),
    );
    await Promise.all(children.map((child) => child.next((m) => m.op === 'ready', 20_000)));
    return new WorkerPool(children);
  }

  get size(): number {
    return this.children.length;
  }

  get allAlive(): boolean {
    return this.children.every((child) => child.alive);
  }

  /**
   * Opens `count` streams spread evenly over the first `use` generators. `concurrency` is per
   * generator (the whole share at once for a storm).
   */
  async connect(
    use: number,
    request: Omit<ConnectRequest, 'count' | 'concurrency'> & {
      count: number;
      concurrency: number | 'all';
    },
  ): Promise<MergedConnect> {
    const users = this.children.slice(0, Math.max(1, Math.min(use, this.children.length)));
    const base = Math.floor(request.count / users.length);
    const extra = request.count % users.length;
    const replies = await Promise.all(
      users.map((child, i) => {
        const count = base + (i < extra ? 1 : 0);
        const concurrency = request.concurrency === 'all' ? count : request.concurrency;
        return child.request(
          { op: 'connect', request: { ...request, count, concurrency } },
          request.timeoutMs + 15_000,
        );
      }),
    );
    const histogram = newHistogram();
    const merged: MergedConnect = {
      attempted: 0,
      connected: 0,
      rejected: 0,
      errors: 0,
      errorCodes: {},
      wallMs: 0,
      p50Ms: 0,
      p99Ms: 0,
    };
    for (const reply of replies) {
      const result = reply.op === 'reply' ? reply.connect : undefined;
      if (!result) continue;
      merged.attempted += result.attempted;
      merged.connected += result.connected;
      merged.rejected += result.rejected;
      merged.errors += result.errors;
      merged.wallMs = Math.max(merged.wallMs, result.wallMs);
      for (const [code, n] of Object.entries(result.errorCodes)) {
        merged.errorCodes[code] = (merged.errorCodes[code] ?? 0) + n;
      }
      histogram.add(hdr.decodeFromCompressedBase64(result.connectHistogram, 32, false));
    }
    merged.p50Ms = histogram.getValueAtPercentile(50) / 1000;
    merged.p99Ms = histogram.getValueAtPercentile(99) / 1000;
    return merged;
  }

  async counts(): Promise<WorkerCounts> {
    const replies = await Promise.all(
      this.children.map((child) => child.request({ op: 'counts' }, 10_000)),
    );
    const total: WorkerCounts = { open: 0, events: 0, dropped: 0, repeated: 0 };
    for (const reply of replies) {
      const counts = reply.op === 'reply' ? reply.counts : undefined;
      if (!counts) continue;
      total.open += counts.open;
      total.events += counts.events;
      total.dropped += counts.dropped;
      total.repeated += counts.repeated;
    }
    return total;
  }

  async reset(): Promise<void> {
    await Promise.all(this.children.map((child) => child.request({ op: 'reset' }, 10_000)));
  }

  async stats(reset: boolean): Promise<MergedStats> {
    const replies = await Promise.all(
      this.children.map((child) => child.request({ op: 'stats', reset }, 20_000)),
    );
    const merged: MergedStats = {
      open: 0,
      events: 0,
      dropped: 0,
      repeated: 0,
      latency: newHistogram(),
      seqExpected: 0,
      silent: 0,
      cpuUserUs: 0,
      cpuSystemUs: 0,
    };
    for (const reply of replies) {
      const stats = reply.op === 'reply' ? reply.stats : undefined;
      if (!stats) continue;
      merged.open += stats.open;
      merged.events += stats.events;
      merged.dropped += stats.dropped;
      merged.repeated += stats.repeated;
      merged.seqExpected += stats.seqExpected;
      merged.silent += stats.silent;
      merged.cpuUserUs += stats.cpuUserUs;
      merged.cpuSystemUs += stats.cpuSystemUs;
      merged.latency.add(hdr.decodeFromCompressedBase64(stats.latencyHistogram, 32, false));
    }
    return merged;
  }

  /** Closes every stream (the clients hang up first). */
  async close(): Promise<void> {
    await Promise.all(this.children.map((child) => child.request({ op: 'close' }, 60_000)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => child.stop()));
  }
}
