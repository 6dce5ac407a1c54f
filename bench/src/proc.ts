/** Child processes of the orchestrator, pinned with taskset, spoken to over IPC. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
const cores = availableParallelism();

/** The CPU the server gets and the one the load generators share, when there are two. */
export const PINNING = {
  server: cores >= 2 ? '0' : undefined,
  clients: cores >= 2 ? '1' : undefined,
  available: hasTaskset && cores >= 2,
};

export class ChildGone extends Error {}

/** One child: `request()` sends `{ id, op, ... }` and resolves with the reply of the same id. */
export class Child<Reply extends { op: string; id?: number }> {
  readonly process: ChildProcess;
  exitCode: number | null | undefined = undefined;
  readonly exited: Promise<number | null>;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (reply: Reply) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private readonly listeners: Array<(message: Reply) => void> = [];

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    cpu: string | undefined,
    nodeFlags: string[] = [],
  ) {
    const node = [...nodeFlags, script, ...args];
    const [command, argv] =
      cpu !== undefined && PINNING.available
        ? ['taskset', ['-c', cpu, process.execPath, ...node]]
        : [process.execPath, node];
    this.process = spawn(command, argv as string[], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (message: Reply) => {
      if (message.op === 'reply' && message.id !== undefined) {
        const entry = this.waiting.get(message.id);
        if (entry) {
          this.waiting.delete(message.id);
          clearTimeout(entry.timer);
          entry.resolve(message);
        }
        return;
      }
      for (const listener of this.listeners) listener(message);
    });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : null);
        for (const [, entry] of this.waiting) {
          clearTimeout(entry.timer);
          entry.reject(new ChildGone(`${name} exited (${code ?? signal}) during a request`));
        }
        this.waiting.clear();
        resolve(this.exitCode);
      });
    });
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** The first unsolicited message matching `accept` (ready, fatal…). */
  next(accept: (message: Reply) => boolean, timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no message in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const listener = (message: Reply) => {
        if (!accept(message)) return;
        clearTimeout(timer);
        this.listeners.splice(this.listeners.indexOf(listener), 1);
        resolve(message);
      };
      this.listeners.push(listener);
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new ChildGone(`${this.name} exited (${code}) before it was ready`));
      });
    });
  }

  request<T extends object>(message: T, timeoutMs: number): Promise<Reply> {
    if (!this.alive) return Promise.reject(new ChildGone(`${this.name} is not running`));
    const id = this.nextId;
    this.nextId += 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new Error(
            `${this.name}: no reply to ${JSON.stringify(message).slice(0, 80)} in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.process.send({ ...message, id });
    });
  }

  /** Asks the child to exit, and kills it if it has not within `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    this.request({ op: 'exit' }, graceMs).catch(() => {});
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
