/**
 * `pnpm bench --engine-only`: the engine's own CPU per delivery, with no I/O. N streams of one
 * channel on sinks that accept every write, against a loop handing the same frame to the same
 * sinks: what ours adds to a broadcast, apart from the server's write and the kernel's. Prints a
 * table; writes no file (the report's fan-out figures are the ones with sockets).
 */
import { createChannel, uriMatch } from '@sse-middleware/core';
import { createRequestView, createSseEngine, type SseSink } from '@sse-middleware/core/adapter';
import { median } from './measure.js';

const SIZES = [1000, 10_000];
const WARMUP = 50;

/** Takes every write at once, as a socket with room in its buffer does. */
class AcceptingSink implements SseSink {
  readonly signal = new AbortController().signal;
  bytes = 0;

  head(): void {}

  write(chunk: Uint8Array): undefined {
    this.bytes += chunk.byteLength;
    return undefined;
  }

  close(): void {}
}

const cpuNs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) * 1000;
};

/** ns of CPU per delivery of `events` publishes to `n` engine streams. */
async function oursNs(n: number, events: number): Promise<number> {
  const channel = createChannel();
  const engine = createSseEngine({
    requestMatcher: uriMatch('/sse'),
    source: channel.source(),
    maxConnections: 0,
    heartbeat: 0,
  });
  for (let i = 0; i < n; i += 1) {
    const headers = { host: '127.0.0.1', accept: 'text/event-stream' };
    engine.start(createRequestView({ method: 'GET', url: '/sse', headers }), new AcceptingSink());
  }
  const data = 'x'.repeat(40);
  for (let i = 0; i < WARMUP; i += 1) await channel.publish('message', data);
  const started = process.cpuUsage();
  for (let i = 0; i < events; i += 1) await channel.publish('message', data);
  const ns = cpuNs(started) / (n * events);
  await engine.close({ event: null, retry: 0, timeout: 1000 });
  return ns;
}

/** ns of CPU per delivery of the same frames handed to `n` sinks by a bare loop. */
async function loopNs(n: number, events: number): Promise<number> {
  const sinks = Array.from({ length: n }, () => new AcceptingSink());
  const encoder = new TextEncoder();
  const send = async (seq: number) => {
    const frame = encoder.encode(`id: ${seq}\ndata: ${'x'.repeat(40)}\n\n`);
    for (const sink of sinks) sink.write(frame);
    await Promise.resolve();
  };
  for (let i = 0; i < WARMUP; i += 1) await send(i);
  const started = process.cpuUsage();
  for (let i = 0; i < events; i += 1) await send(WARMUP + i);
  return cpuNs(started) / (n * events);
}

export async function engineOnlyBench(quick: boolean, log: (line: string) => void): Promise<void> {
  const rounds = quick ? 1 : 5;
  const events = quick ? 20 : 300;
  const rows = [
    '| N | ours ns / delivery | bare loop ns / delivery | ours − loop |',
    '|---|---|---|---|',
  ];
  for (const n of SIZES) {
    const ours: number[] = [];
    const loop: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      ours.push(await oursNs(n, events));
      loop.push(await loopNs(n, events));
    }
    const [o, l] = [median(ours), median(loop)];
    log(`engine-only ${n}: ours ${o.toFixed(0)} ns, loop ${l.toFixed(0)} ns per delivery`);
    rows.push(`| ${n} | ${o.toFixed(0)} | ${l.toFixed(0)} | ${(o - l).toFixed(0)} |`);
  }
  console.log(
    `\nThe engine's CPU per delivery without I/O (median of ${rounds} round(s), ${events} publishes each):\n\n${rows.join('\n')}\n`,
  );
}
