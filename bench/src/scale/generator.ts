/**
 * A load generator of the 100,000-stream scenario (`pnpm bench --scale`): the protocol of
 * client/worker.ts (so `WorkerPool` drives it), but each socket is bound to one of several
 * loopback source addresses (`localAddresses`, round robin), so that no source address runs out
 * of ephemeral ports, and it holds up to ~19,000 streams (a process may hold 20,000 fds).
 */
import net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { SseResponseParser } from '../client/parser.js';
import { newHistogram, record } from '../histogram.js';
import type {
  ConnectResult,
  FromWorker,
  ToWorker,
  WorkerCounts,
  WorkerStats,
} from '../protocol.js';
import type { ScaleConnectRequest } from './plan.js';

/** No generator outlives this, whatever happens to the orchestrator. */
const MAX_LIFETIME_MS = 30 * 60_000;
const HOST = '127.0.0.1';

interface Stream {
  socket: net.Socket;
  closedByUs: boolean;
  events: number;
  lastSeq: number;
}

const streams = new Set<Stream>();
let latency = newHistogram();
let events = 0;
let dropped = 0;
let repeated = 0;
let cpuMark = process.cpuUsage();
/** The receipt time of the read being parsed, ns. */
let now = 0;
/** Where the round robin over source addresses is: a different start in each generator. */
let nextAddress = process.pid;

function onEvent(stream: Stream, ts: number, seq: number) {
  events += 1;
  stream.events += 1;
  if (stream.lastSeq !== 0 && seq <= stream.lastSeq) repeated += 1;
  stream.lastSeq = Math.max(stream.lastSeq, seq);
  if (!Number.isNaN(ts)) record(latency, (now - ts) / 1000);
}

/** Opens one stream from `localAddress`; resolves with its status (0 and a code on an error). */
function open(
  port: number,
  path: string,
  localAddress: string,
  timeoutMs: number,
): Promise<{ status: number; code?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port, localAddress });
    const stream: Stream = { socket, closedByUs: false, events: 0, lastSeq: 0 };
    let ok = false;
    let settled = false;
    const settle = (status: number, code?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(code === undefined ? { status } : { status, code });
    };
    const timer = setTimeout(() => {
      settle(0, 'TIMEOUT');
      socket.destroy();
    }, timeoutMs);
    socket.setNoDelay(true);
    const parser = new SseResponseParser({
      head(status) {
        if (status === 200) {
          ok = true;
          streams.add(stream);
        }
        settle(status);
      },
      event: (ts, seq) => onEvent(stream, ts, seq),
    });
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      now = Number(process.hrtime.bigint());
      if (!parser.push(chunk)) socket.destroy();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(0, error.code ?? 'ERROR'));
    socket.on('close', () => {
      settle(0, 'CLOSED');
      if (!ok) return;
      streams.delete(stream);
      if (!stream.closedByUs) dropped += 1;
    });
  });
}

async function connect(request: ScaleConnectRequest): Promise<ConnectResult> {
  const histogram = newHistogram();
  const result: ConnectResult = {
    attempted: request.count,
    connected: 0,
    rejected: 0,
    errors: 0,
    errorCodes: {},
    wallMs: 0,
    connectHistogram: '',
  };
  const addresses = request.localAddresses;
  const started = performance.now();
  const deadline = started + request.timeoutMs;
  let next = 0;
  const dial = async () => {
    while (next < request.count && performance.now() < deadline) {
      next += 1;
      for (let attempt = 0; attempt <= request.retries; attempt += 1) {
        const address = addresses[nextAddress % addresses.length]!;
        nextAddress += 1;
        const t0 = performance.now();
        const remaining = Math.max(1, deadline - t0);
        const { status, code } = await open(request.port, request.path, address, remaining);
        if (status > 0) {
          if (status === 200) result.connected += 1;
          else result.rejected += 1;
          record(histogram, (performance.now() - t0) * 1000);
          break;
        }
        if (attempt === request.retries) {
          result.errors += 1;
          const key = code ?? 'ERROR';
          result.errorCodes[key] = (result.errorCodes[key] ?? 0) + 1;
        }
      }
    }
  };
  const dialers = Math.max(1, Math.min(request.concurrency, request.count));
  await Promise.all(Array.from({ length: dialers }, dial));
  result.wallMs = performance.now() - started;
  result.connectHistogram = hdr.encodeIntoCompressedBase64(histogram);
  return result;
}

function counts(): WorkerCounts {
  return { open: streams.size, events, dropped, repeated };
}

function stats(reset: boolean): WorkerStats {
  let silent = 0;
  for (const stream of streams) if (stream.events === 0) silent += 1;
  const cpu = process.cpuUsage(cpuMark);
  const result: WorkerStats = {
    ...counts(),
    latencyHistogram: hdr.encodeIntoCompressedBase64(latency),
    seqExpected: 0,
    silent,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
  };
  if (reset) resetPhase();
  return result;
}

/** A new phase: counters, latencies and CPU from zero; each stream's last sequence number kept. */
function resetPhase() {
  latency = newHistogram();
  events = 0;
  dropped = 0;
  repeated = 0;
  cpuMark = process.cpuUsage();
  for (const stream of streams) stream.events = 0;
}

function closeAll(): Promise<void> {
  const closing = [...streams].map(
    (stream) =>
      new Promise<void>((resolve) => {
        stream.closedByUs = true;
        stream.socket.once('close', () => resolve());
        stream.socket.destroy();
      }),
  );
  streams.clear();
  return Promise.all(closing).then(() => {});
}

const send = (message: FromWorker) => process.send?.(message);

process.on('message', (message: ToWorker) => {
  void (async () => {
    switch (message.op) {
      case 'connect':
        send({
          op: 'reply',
          id: message.id,
          connect: await connect(message.request as ScaleConnectRequest),
        });
        break;
      case 'counts':
        send({ op: 'reply', id: message.id, counts: counts() });
        break;
      case 'stats':
        send({ op: 'reply', id: message.id, stats: stats(message.reset) });
        break;
      case 'reset':
        resetPhase();
        send({ op: 'reply', id: message.id });
        break;
      case 'close':
        await closeAll();
        resetPhase();
        send({ op: 'reply', id: message.id });
        break;
      case 'exit':
        send({ op: 'reply', id: message.id });
        setImmediate(() => process.exit(0));
        break;
    }
  })();
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
send({ op: 'ready' });
