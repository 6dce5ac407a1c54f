import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

/** A child process whose output is kept, stopped with a signal (SIGKILL after a deadline). */
export interface Running {
  readonly pid: number;
  /** Everything it printed so far, stdout and stderr. */
  readonly output: string;
  /** Resolves with the exit code (`null` after a signal) once it has exited. */
  readonly exited: Promise<number | null>;
  readonly hasExited: boolean;
  /** Sends `signal`, then SIGKILL if it has not exited within 10 s. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Running {
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let hasExited = false;
  const read = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      output += `\n[spawn error] ${error.message}`;
      hasExited = true;
      resolve(null);
    });
    child.once('close', (code) => {
      hasExited = true;
      resolve(code);
    });
  });
  return {
    get pid() {
      return child.pid ?? -1;
    },
    get output() {
      return output;
    },
    exited,
    get hasExited() {
      return hasExited;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (hasExited) return exited;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(
  port: number,
  process: Running,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.hasExited) {
      throw new Error(
        `${what} exited (${await process.exited}) before listening on ${port}:\n${process.output}`,
      );
    }
    if (await accepts(port)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${process.output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once `output()` matches `pattern`, with the match; rejects if the process exits first. */
export function waitForOutput(
  process: Running,
  pattern: RegExp,
  what: string,
  timeoutMs = 30_000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(process.output);
      if (match) return resolve(match);
      if (process.hasExited) {
        return reject(new Error(`${what} exited before printing ${pattern}:\n${process.output}`));
      }
      if (Date.now() > deadline) {
        return reject(
          new Error(`${what} did not print ${pattern} within ${timeoutMs} ms:\n${process.output}`),
        );
      }
      setTimeout(check, 25);
    };
    check();
  });
}
