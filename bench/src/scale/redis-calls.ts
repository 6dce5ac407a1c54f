/** Redis's own count of the commands it ran (`INFO commandstats`), read with redis-cli. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Calls per command, lower case (`xread`, `xadd`…), since redis-server started. */
export async function commandCalls(port: number): Promise<Record<string, number>> {
  const { stdout } = await run(
    'redis-cli',
    ['-h', '127.0.0.1', '-p', String(port), 'INFO', 'commandstats'],
    {
      timeout: 10_000,
    },
  );
  const calls: Record<string, number> = {};
  for (const [, name, count] of stdout.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)) {
    // Our own INFO, asking for these figures, is not the channel's traffic.
    if (name !== 'info') calls[name!] = Number(count);
  }
  return calls;
}

export function callsBetween(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) {
    const d = count - (before[name] ?? 0);
    if (d > 0) delta[name] = d;
  }
  return delta;
}
