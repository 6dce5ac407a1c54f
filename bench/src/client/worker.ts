/**
 * A load generator process (pinned to CPU1 by the orchestrator): holds up to ~5,000 SSE streams
 * over raw `net` sockets to 127.0.0.1, parses them incrementally, and records per-event latency
 * (receipt hrtime minus the server hrtime inside the event) in an HDR histogram, in µs.
 * `pnpm bench --scale` has it hold up to ~19,000 (a process may hold 20,000 fds), each socket bound
 * to one of `localAddresses` in turn, so that no source address runs out of ephemeral ports.
 */
import net from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { newHistogram, record } from '../histogram.js';
import type {
  ConnectRequest,
  ConnectResult,
  FromWorker,
  ToWorker,
  WorkerCounts,
  WorkerStats,
} from '../protocol.js';
import { answerParent } from './answer-parent.js';
import { SseResponseParser } from './parser.js';
import { HOST, sseRequestHead } from './request.js';

interface Stream {
  socket: net.Socket;
  ok: boolean;
  closedByUs: boolean;
  events: number;
  firstSeq: number;
  lastSeq: number;
  /** `sequenceAcrossPhases`: a phase reset keeps `firstSeq` and `lastSeq`. */
  acrossPhases: boolean;
}

const streams = new Set<Stream>();
let latency = newHistogram();
let events = 0;
let dropped = 0;
let repeated = 0;
/** The receipt time of the read being parsed, ns. */
let now = 0;
/** Where the round robin over `localAddresses` is: a different start in each generator. */
let nextAddress = process.pid;

function onEvent(stream: Stream, ts: number, seq: number) {
  events += 1;
  stream.events += 1;
  if (stream.firstSeq === 0) stream.firstSeq = seq;
  else if (seq <= stream.lastSeq) repeated += 1;
  stream.lastSeq = Math.max(stream.lastSeq, seq);
  if (!Number.isNaN(ts)) record(latency, (now - ts) / 1000);
}

/**
 * Opens one stream (from `localAddress` when given); resolves with its status (0 on a connection
 * error, with the error code).
 */
function open(
  port: number,
  path: string,
  timeoutMs: number,
  localAddress: string | undefined,
  acrossPhases: boolean,
): Promise<{ status: number; code?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(
      localAddress === undefined ? { host: HOST, port } : { host: HOST, port, localAddress },
    );
    const timer = setTimeout(() => {
      settle(0, 'TIMEOUT');
      socket.destroy();
    }, timeoutMs);
    socket.setNoDelay(true);
    const stream: Stream = {
      socket,
      ok: false,
      closedByUs: false,
      events: 0,
      firstSeq: 0,
      lastSeq: 0,
      acrossPhases,
    };
    let settled = false;
    const settle = (status: number, code?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(code === undefined ? { status } : { status, code });
    };
    const parser = new SseResponseParser({
      head(status) {
        if (status === 200) {
          stream.ok = true;
          streams.add(stream);
        }
        settle(status);
      },
      event: (ts, seq) => onEvent(stream, ts, seq),
    });
    socket.on('connect', () => {
      socket.write(sseRequestHead(port, path));
    });
    socket.on('data', (chunk: Buffer) => {
      now = Number(process.hrtime.bigint());
      if (!parser.push(chunk)) socket.destroy();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle(0, error.code ?? 'ERROR'));
    socket.on('close', () => {
      settle(0, 'CLOSED');
      if (stream.ok) {
        streams.delete(stream);
        if (!stream.closedByUs) dropped += 1;
      }
    });
  });
}

async function connect(request: ConnectRequest): Promise<ConnectResult> {
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
  const started = performance.now();
  const deadline = started + request.timeoutMs;
  let next = 0;
  const addresses = request.localAddresses;
  const acrossPhases = request.sequenceAcrossPhases === true;
  const dial = async () => {
    while (next < request.count && performance.now() < deadline) {
      next += 1;
      for (let attempt = 0; attempt <= request.retries; attempt += 1) {
        let address: string | undefined;
        if (addresses !== undefined && addresses.length > 0) {
          address = addresses[nextAddress % addresses.length];
          nextAddress += 1;
        }
        const t0 = performance.now();
        const remaining = Math.max(1, deadline - t0);
        const { status, code } = await open(
          request.port,
          request.path,
          remaining,
          address,
          acrossPhases,
        );
        if (status === 200) {
          result.connected += 1;
          record(histogram, (performance.now() - t0) * 1000);
          break;
        }
        if (status > 0) {
          result.rejected += 1;
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

let cpuMark = process.cpuUsage();

function stats(reset: boolean): WorkerStats {
  let seqExpected = 0;
  let silent = 0;
  for (const stream of streams) {
    if (stream.events === 0) silent += 1;
    else seqExpected += stream.lastSeq - stream.firstSeq + 1;
  }
  const cpu = process.cpuUsage(cpuMark);
  const result: WorkerStats = {
    ...counts(),
    latencyHistogram: hdr.encodeIntoCompressedBase64(latency),
    seqExpected,
    silent,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
  };
  if (reset) resetPhase();
  return result;
}

function resetPhase() {
  latency = newHistogram();
  events = 0;
  dropped = 0;
  repeated = 0;
  cpuMark = process.cpuUsage();
  for (const stream of streams) {
    stream.events = 0;
    if (stream.acrossPhases) continue;
    stream.firstSeq = 0;
    stream.lastSeq = 0;
  }
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

answerParent<ToWorker, FromWorker>(async (message) => {
  switch (message.op) {
    case 'connect':
      return { connect: await connect(message.request) };
    case 'counts':
      return { counts: counts() };
    case 'stats':
      return { stats: stats(message.reset) };
    case 'reset':
      resetPhase();
      return {};
    case 'close':
      await closeAll();
      resetPhase();
      return {};
  }
});
