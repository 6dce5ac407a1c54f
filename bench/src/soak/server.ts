/**
 * A soak server process: one adapter with our channel (in memory or on Redis), publishing on a
 * fixed schedule when asked, keeping each publish's outcome, and sampling its own memory,
 * event-loop delay and open streams on request.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { runOrReportFatal } from '../server/fatal.js';
import { eventData } from '../server/payload.js';
import { type SoakServer, startSoakServer } from './adapters.js';
import type {
  FromSoakServer,
  PublishOutcome,
  SoakServerConfig,
  SoakServerSample,
  ToSoakServer,
} from './protocol.js';

const send = (message: FromSoakServer) => process.send?.(message);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const gc = (globalThis as { gc?: () => void }).gc;

/** `monitorEventLoopDelay` records the time between its timer's runs: the delay is that minus this. */
const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
loopDelay.enable();
let windowStart = performance.now();

let published = 0;
let acked = 0;
const failedSeqs: number[] = [];
let pending = 0;
let publishing: NodeJS.Timeout | undefined;

function publishOne(server: SoakServer, payloadBytes: number) {
  published += 1;
  const seq = published;
  pending += 1;
  server.channel.publish('message', eventData(seq, payloadBytes)).then(
    () => {
      acked += 1;
      pending -= 1;
    },
    () => {
      failedSeqs.push(seq);
      pending -= 1;
    },
  );
}

/** Publishes `perSecond` events a second on a fixed schedule (a late tick catches up at once). */
function startPublishing(server: SoakServer, perSecond: number, payloadBytes: number) {
  const intervalMs = 1000 / perSecond;
  const started = performance.now();
  let sent = 0;
  const tick = () => {
    const due = Math.floor((performance.now() - started) / intervalMs) + 1;
    while (sent < due) {
      publishOne(server, payloadBytes);
      sent += 1;
    }
    publishing = setTimeout(tick, started + sent * intervalMs - performance.now());
  };
  tick();
}

async function stopPublishing(): Promise<PublishOutcome> {
  clearTimeout(publishing);
  publishing = undefined;
  for (let waited = 0; pending > 0 && waited < 60_000; waited += 50) await sleep(50);
  return { lastSeq: published, acked, failedSeqs: [...failedSeqs].sort((a, b) => a - b) };
}

/** Memory after a forced GC when asked; the GC's own pause is kept out of the loop-delay figures. */
async function sample(server: SoakServer, withGc: boolean): Promise<SoakServerSample> {
  const delayMs = (ns: number) =>
    Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS) : 0;
  // No run of the monitor's timer in the whole window: timers starved for all of it.
  const starvedMs = loopDelay.count === 0 ? performance.now() - windowStart : 0;
  const loopDelayP99Ms = starvedMs || delayMs(loopDelay.percentile(99));
  const loopDelayMaxMs = starvedMs || delayMs(loopDelay.max);
  if (withGc && gc) {
    gc();
    gc();
  }
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const result: SoakServerSample = {
    at: Date.now(),
    gc: withGc && gc !== undefined,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    loopDelayP99Ms,
    loopDelayMaxMs,
    open: server.open(),
    cpuUs: cpu.user + cpu.system,
    published,
    acked,
    failed: failedSeqs.length,
  };
  // Past the timer tick that records the forced GC's pause, then a fresh window.
  if (result.gc) await sleep(30);
  loopDelay.reset();
  windowStart = performance.now();
  return result;
}

async function main() {
  const config = JSON.parse(process.argv[2] ?? '{}') as SoakServerConfig;
  const server = await startSoakServer(config);
  setTimeout(() => process.exit(3), config.lifetimeMs).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ToSoakServer) => {
    void (async () => {
      switch (message.op) {
        case 'sample':
          send({ op: 'reply', id: message.id, sample: await sample(server, message.gc) });
          break;
        case 'publish':
          startPublishing(server, message.perSecond, config.payloadBytes);
          send({ op: 'reply', id: message.id });
          break;
        case 'stop-publishing':
          send({ op: 'reply', id: message.id, outcome: await stopPublishing() });
          break;
        case 'exit':
          server.channel.close();
          send({ op: 'reply', id: message.id });
          setImmediate(() => process.exit(0));
          break;
      }
    })();
  });
  send({ op: 'ready', port: server.port });
}

runOrReportFatal(main);
