/** A server under test in its own process (pinned to the server CPU), spoken to over IPC. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child, PINNING } from './proc.js';
import type { FromServer, ServerConfig, ServerSample } from './protocol.js';

const SERVER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'server', 'main.js');

/** A server under test, with requests and a crash check. */
export class ServerUnderTest {
  private stopping = false;
  private constructor(
    readonly child: Child<FromServer>,
    readonly port: number,
  ) {}

  static async start(config: ServerConfig, name = config.kind): Promise<ServerUnderTest> {
    const child = new Child<FromServer>(
      name,
      SERVER_SCRIPT,
      [JSON.stringify(config)],
      PINNING.server,
      ['--expose-gc'],
    );
    const ready = await child.next((m) => m.op === 'ready' || m.op === 'fatal', 30_000);
    if (ready.op === 'fatal') {
      await child.stop();
      throw new Error(`server failed to start: ${ready.message}`);
    }
    if (ready.op !== 'ready') throw new Error('unexpected message');
    return new ServerUnderTest(child, ready.port);
  }

  get crashed(): boolean {
    return !this.child.alive && !this.stopping;
  }

  async sample(gc: boolean): Promise<ServerSample> {
    const reply = await this.child.request({ op: 'sample', gc }, 30_000);
    if (reply.op !== 'reply' || !reply.sample) throw new Error('no sample');
    return reply.sample;
  }

  /** Publishes and resolves once the last event is out, with the sample taken before the first. */
  async publish(count: number, intervalMs: number, payloadBytes: number, timeoutMs: number) {
    const reply = await this.child.request(
      { op: 'publish', count, intervalMs, payloadBytes },
      timeoutMs,
    );
    if (reply.op !== 'reply' || !reply.before) throw new Error('no publish reply');
    return { before: reply.before, wallMs: reply.wallMs ?? 0 };
  }

  /** Restarts the server kind's own timings (store and publish latencies). */
  async resetStats(): Promise<void> {
    await this.child.request({ op: 'reset-stats' }, 10_000);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.child.stop();
  }
}
