import { cpus, loadavg } from 'node:os';

export interface ProcessMetrics {
  uptimeSeconds: number;
  memory: NodeJS.MemoryUsage;
  cpu: NodeJS.CpuUsage;
  loadAverage: number[];
  cores: number;
  now: number;
}

/** A snapshot of this process, for `/app/metrics`. */
export function processMetrics(): ProcessMetrics {
  return {
    uptimeSeconds: Math.round(process.uptime()),
    memory: process.memoryUsage(),
    cpu: process.cpuUsage(),
    loadAverage: loadavg(),
    cores: cpus().length,
    now: Date.now(),
  };
}
