/**
 * A soak load generator: holds streams over raw `net` sockets, checks each stream's sequence
 * across its whole life (every event once, in order), drops a slice of them on command and
 * reconnects each with the `Last-Event-ID` it last saw, as a browser's EventSource would.
 */
import net from 'node:net';
import { answerParent } from '../client/answer-parent.js';
import { HOST, sseRequestHead } from '../client/request.js';
import { SoakResponseParser } from './parser.js';
import type { ClientCounts, ClientVerdict, FromSoakClient, ToSoakClient } from './protocol.js';

const PATH = '/sse';
/** EventSource's reconnection delay, with jitter so that a dropped slice does not come back at once. */
const RECONNECT_MS = 500;
const RECONNECT_JITTER_MS = 1000;
const CONNECT_TIMEOUT_MS = 30_000;

interface Stream {
  index: number;
  socket: net.Socket | undefined;
  /** Connections made so far: the next one goes to `ports[(index + attempts) % ports.length]`. */
  attempts: number;
  open: boolean;
  lastId: string | undefined;
  firstSeq: number;
  lastSeq: number;
  /** Sequence numbers this stream skipped (ranges, inclusive). */
  holes: Array<[number, number]>;
}

let ports: number[] = [];
const streams: Stream[] = [];
let closing = false;
let events = 0;
let reconnects = 0;
let reconnectFailures = 0;
let serverCloses = 0;
let duplicates = 0;
let skipped = 0;
let replayGaps = 0;
let reconnecting = 0;

function onEvent(stream: Stream, id: string | undefined, seq: number, replayGap: boolean) {
  if (id !== undefined) stream.lastId = id;
  if (replayGap) {
    replayGaps += 1;
    return;
  }
  if (seq === 0) return;
  events += 1;
  if (stream.firstSeq === 0) stream.firstSeq = seq;
  else if (seq <= stream.lastSeq) {
    duplicates += 1;
    return;
  } else if (seq > stream.lastSeq + 1) {
    stream.holes.push([stream.lastSeq + 1, seq - 1]);
    skipped += seq - stream.lastSeq - 1;
  }
  stream.lastSeq = seq;
}

/** Connects `stream` once; resolves true on a 200. A stream that ends later reconnects itself. */
function connect(stream: Stream): Promise<boolean> {
  const port = ports[(stream.index + stream.attempts) % ports.length]!;
  stream.attempts += 1;
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    stream.socket = socket;
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => socket.destroy(), CONNECT_TIMEOUT_MS);
    socket.setNoDelay(true);
    const parser = new SoakResponseParser({
      head(status) {
        if (status === 200) stream.open = true;
        settle(status === 200);
      },
      event: (id, seq, gap) => onEvent(stream, id, seq, gap),
    });
    socket.on('connect', () => {
      const resume = stream.lastId === undefined ? '' : `Last-Event-ID: ${stream.lastId}\r\n`;
      socket.write(sseRequestHead(port, PATH, resume));
    });
    socket.on('data', (chunk: Buffer) => {
      if (!parser.push(chunk)) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const wasOpen = stream.open;
      stream.open = false;
      if (stream.socket === socket) stream.socket = undefined;
      settle(false);
      if (closing) return;
      if (wasOpen && !dropping.has(socket)) serverCloses += 1;
      scheduleReconnect(stream);
    });
  });
}

/** Sockets we destroyed on purpose (a drop), so that their close is not counted as the server's. */
const dropping = new WeakSet<net.Socket>();

function scheduleReconnect(stream: Stream) {
  reconnecting += 1;
  const delay = RECONNECT_MS + Math.random() * RECONNECT_JITTER_MS;
  setTimeout(() => {
    if (closing) {
      reconnecting -= 1;
      return;
    }
    reconnects += 1;
    void connect(stream).then((ok) => {
      reconnecting -= 1;
      if (!ok) reconnectFailures += 1;
    });
  }, delay);
}

async function connectAll(count: number, concurrency: number): Promise<number> {
  let next = 0;
  let connected = 0;
  const dial = async () => {
    while (next < count) {
      const stream: Stream = {
        index: streams.length,
        socket: undefined,
        attempts: 0,
        open: false,
        lastId: undefined,
        firstSeq: 0,
        lastSeq: 0,
        holes: [],
      };
      streams.push(stream);
      next += 1;
      if (await connect(stream)) connected += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, dial));
  return connected;
}

/** Drops the streams whose index is `cycle` modulo `every`: each reconnects after its delay. */
function drop(cycle: number, every: number): number {
  let dropped = 0;
  for (const stream of streams) {
    if (stream.index % every !== cycle % every || !stream.open || !stream.socket) continue;
    dropping.add(stream.socket);
    stream.socket.destroy();
    dropped += 1;
  }
  return dropped;
}

let cpuMark = process.cpuUsage();

function counts(): ClientCounts {
  let open = 0;
  let minLastSeq = Number.POSITIVE_INFINITY;
  for (const stream of streams) {
    if (stream.open) open += 1;
    minLastSeq = Math.min(minLastSeq, stream.lastSeq);
  }
  const cpu = process.cpuUsage(cpuMark);
  return {
    open,
    reconnecting,
    events,
    reconnects,
    reconnectFailures,
    serverCloses,
    duplicates,
    skipped,
    replayGaps,
    minLastSeq: Number.isFinite(minLastSeq) ? minLastSeq : 0,
    cpuUs: cpu.user + cpu.system,
  };
}

/** Every stream's holes, plus what it is missing after its last event up to `lastSeq`. */
function verify(lastSeq: number): ClientVerdict {
  const missing = new Map<number, number>();
  const firstSeqs = new Map<number, number>();
  let silent = 0;
  for (const stream of streams) {
    if (stream.firstSeq === 0) {
      silent += 1;
      continue;
    }
    firstSeqs.set(stream.firstSeq, (firstSeqs.get(stream.firstSeq) ?? 0) + 1);
    const holes = [...stream.holes];
    if (stream.lastSeq < lastSeq) holes.push([stream.lastSeq + 1, lastSeq]);
    for (const [from, to] of holes)
      for (let seq = from; seq <= to; seq += 1) missing.set(seq, (missing.get(seq) ?? 0) + 1);
  }
  return {
    streams: streams.length,
    silent,
    missing: [...missing].sort((a, b) => a[0] - b[0]),
    firstSeqs: [...firstSeqs].sort((a, b) => a[0] - b[0]),
    duplicates,
    replayGaps,
  };
}

function closeAll(): Promise<void> {
  closing = true;
  const sockets = streams.flatMap((stream) => (stream.socket ? [stream.socket] : []));
  return Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once('close', () => resolve());
          socket.destroy();
        }),
    ),
  ).then(() => {});
}

answerParent<ToSoakClient, FromSoakClient>(async (message) => {
  switch (message.op) {
    case 'connect':
      ports = message.ports;
      cpuMark = process.cpuUsage();
      return { connected: await connectAll(message.count, message.concurrency) };
    case 'drop':
      return { dropped: drop(message.cycle, message.every) };
    case 'counts':
      return { counts: counts() };
    case 'verify':
      return { verdict: verify(message.lastSeq) };
    case 'close':
      await closeAll();
      return {};
  }
});
