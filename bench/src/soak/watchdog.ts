/**
 * Kills the soak's redis-server if the orchestrator dies without stopping it (the servers and load
 * generators exit on their own when their IPC channel closes; redis-server has none). The
 * orchestrator sends `{ pid, dir }` after each (re)start, and `{ done: true }` once it stopped it.
 */
import { rmSync } from 'node:fs';

const MAX_LIFETIME_MS = 3 * 60 * 60_000;
let redis: { pid: number; dir: string } | undefined;

process.on('message', (message: { pid?: number; dir?: string; done?: boolean }) => {
  if (message.done) process.exit(0);
  if (message.pid !== undefined && message.dir !== undefined)
    redis = { pid: message.pid, dir: message.dir };
});
process.on('disconnect', () => {
  if (redis) {
    try {
      process.kill(redis.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    setTimeout(() => {
      rmSync(redis!.dir, { recursive: true, force: true });
      process.exit(0);
    }, 500);
  } else process.exit(0);
});
setTimeout(() => process.exit(0), MAX_LIFETIME_MS).unref();
