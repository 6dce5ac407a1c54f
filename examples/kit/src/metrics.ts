import { cpus, loadavg } from 'node:os';
import type { Generations } from './generations.js';

export interface ProcessMetrics {
  uptimeSeconds: number;
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  loadAverage: number[];
  cores: number;
  now: number;
  /** The example's streams and channel: `engine.stats()` and `channel.stats()` snapshots. */
  sse?: Record<string, unknown>;
  /** The echo model's generations, both `/v1/chat/completions` and `/chat`. */
  generations?: Generations;
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
    now: Date.now(),
  };
}
