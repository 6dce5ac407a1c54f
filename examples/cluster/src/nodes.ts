import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The example servers a cluster runs, one process each: three different servers. */
export const CLUSTER_SERVERS = ['node-http', 'koa', 'uws'] as const;
export type ClusterServer = (typeof CLUSTER_SERVERS)[number];

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** One example server running in its own process. */
export interface ClusterNode {
  readonly server: ClusterServer;
  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly pid: number;
  /** Everything it printed so far. */
  readonly output: string;
  /**
   * Ctrl+C: it ends its streams gracefully, closes its Redis connections and exits; SIGKILL if it
   * has not within 10 s. Resolves with its exit code (`null` if a signal ended it).
   */
  stop(): Promise<number | null>;
  /** Kills it outright (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

export interface StartNodeOptions {
  /** The Redis every node shares (`REDIS_URL`). */
  redisUrl: string;
  /** Told each line the node prints. */
  onLine?: (line: string) => void;
}

/**
 * Starts `examples/<server>` as `node --import tsx src/main.ts` with `PORT=0`, `HOST=127.0.0.1`
 * and `REDIS_URL`, and resolves once it says where it listens.
 *
 * ```ts
 * const node = await startNode('koa', { redisUrl: 'redis://127.0.0.1:6379' });
 * console.log(node.url); // http://127.0.0.1:41234
 * await node.stop();
 * ```
 */
export async function startNode(
  server: ClusterServer,
  { redisUrl, onLine }: StartNodeOptions,
): Promise<ClusterNode> {
  const folder = fileURLToPath(new URL(`../../${server}/`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: folder,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  const read = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine?.(line);
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const closed = new Promise<number | null>((resolve) =>
    child.once('close', (code) => resolve(code)),
  );

  let url: string;
  try {
    url = await announcedUrl(child, () => output);
  } catch (error) {
    await terminate(child, closed, 'SIGKILL');
    throw error;
  }
  return {
    server,
    url,
    pid: child.pid!,
    get output() {
      return output;
    },
    stop: () => terminate(child, closed, 'SIGINT'),
    kill: async () => {
      await terminate(child, closed, 'SIGKILL');
    },
  };
}

function announcedUrl(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error, url?: string) => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', exited);
      if (error) reject(error);
      else resolve(url!);
    };
    const check = () => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output());
      if (match) settle(undefined, match[1]);
    };
    const exited = (code: number | null) =>
      settle(new Error(`the node exited (${code}) before listening:\n${output()}`));
    const timer = setTimeout(
      () =>
        settle(new Error(`the node did not listen within ${START_TIMEOUT_MS} ms:\n${output()}`)),
      START_TIMEOUT_MS,
    );
    child.stdout?.on('data', check);
    child.once('exit', exited);
    check();
  });
}

/** Sends `signal` and resolves with the exit code once the process is gone (SIGKILL after a timeout). */
async function terminate(
  child: ChildProcess,
  closed: Promise<number | null>,
  signal: NodeJS.Signals,
): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.kill(signal);
    await closed;
    clearTimeout(timer);
  }
  return closed;
}
