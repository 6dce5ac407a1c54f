import { fileURLToPath } from 'node:url';
import { type Running, run, waitForOutput } from './processes.js';

/** The five example servers, each serving `GET /events` and `POST /publish`. */
export const EXAMPLES = ['node-http', 'fastify', 'koa', 'hono', 'uws'] as const;
export type ExampleName = (typeof EXAMPLES)[number];

export interface RunningExample {
  readonly name: ExampleName;
  /** Where it listens directly, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly process: Running;
  /** Ctrl+C, as a terminal would. */
  stop(): Promise<number | null>;
}

/**
 * Starts `examples/<name>/src/main.ts` as `pnpm start` does (`node --import tsx src/main.ts`),
 * with `PORT=0` (it prints the port it got), `HOST=127.0.0.1` and `HEARTBEAT_MS`.
 */
export async function startExample(
  name: ExampleName,
  { heartbeatMs }: { heartbeatMs: number },
): Promise<RunningExample> {
  const folder = fileURLToPath(new URL(`../../${name}/`, import.meta.url));
  const child = run(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: folder,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      HEARTBEAT_MS: String(heartbeatMs),
      REDIS_URL: '',
    },
  });
  let match: RegExpExecArray;
  try {
    match = await waitForOutput(
      child,
      /listening on (http:\/\/127\.0\.0\.1:(\d+))/,
      `the ${name} example`,
      60_000,
    );
  } catch (error) {
    await child.stop('SIGKILL');
    throw error;
  }
  return {
    name,
    url: match[1]!,
    port: Number(match[2]),
    process: child,
    stop: () => child.stop('SIGINT'),
  };
}
