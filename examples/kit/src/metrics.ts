import { cpus, loadavg } from 'node:os';

export interface ProcessMetrics {
  uptimeSeconds: number;
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  loadAverage: number[];
  cores: number;
  now: number;
  /** The example's streams and channel: `engine.stats()` and `channel.stats()` snapshots. */
  sse?: Record<string, unknown>;
}

/** A snapshot of this process, for `/app/metrics`. */
export function processMetrics(sse?: Record<string, unknown>): ProcessMetrics {
  return {
    ...(sse ? { sse } : {}),
    uptimeSeconds: Math.round(process.uptime()),
    memory: process.memoryUsage(),
    cpu: process.cpuUsage(),
    loadAverage: loadavg(),
    cores: cpus().length,
    now: Date.now(),
  };
}
