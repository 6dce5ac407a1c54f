/** The redis-server the cross-node scenario runs against: installed if need be, pinned, fsync once a second. */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type RedisServer, startRedisServer } from '../../scripts/redis-server.mjs';
import { PINNING } from './proc.js';

const scripts = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts');

/** Redis's own default for the append-only file, rather than the tests' fsync on every write. */
export const BENCH_APPENDFSYNC = 'everysec';

export interface BenchRedis {
  server: RedisServer;
  /** Where it runs, in words, for the report. */
  placement: string;
}

/**
 * Makes sure redis-server is installed (apt-get on Debian as root, else a message saying how),
 * starts it on a free port of 127.0.0.1 and pins all its threads to the servers' CPU.
 */
export async function startBenchRedis(): Promise<BenchRedis> {
  const { ensureSystemDeps } = (await import(
    pathToFileURL(join(scripts, 'ensure-system-deps.mjs')).href
  )) as { ensureSystemDeps(names: string[]): void };
  ensureSystemDeps(['redis-server']);
  const server = await startRedisServer({ appendfsync: BENCH_APPENDFSYNC });
  const cpu = PINNING.server;
  if (!PINNING.available || cpu === undefined || server.pid === undefined) {
    return { server, placement: 'not pinned' };
  }
  const pinned = spawnSync('taskset', ['-a', '-c', '-p', cpu, String(server.pid)]);
  return {
    server,
    placement:
      pinned.status === 0
        ? `on CPU${cpu} with the servers (taskset -a)`
        : `not pinned (taskset failed: ${pinned.stderr.toString().trim()})`,
  };
}
