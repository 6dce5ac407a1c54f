/**
 * The server under test, one process per (server kind, scenario group), pinned to CPU0 by the
 * orchestrator. It samples itself (process.cpuUsage, process.memoryUsage after forced GC) and
 * publishes on command, stamping each event with process.hrtime.bigint().
 */
import { getHeapSpaceStatistics } from 'node:v8';
import type { FromServer, ServerConfig, ServerSample, ToServer } from '../protocol.js';
import { runOrReportFatal } from './fatal.js';
import type { KindServer, StartKind } from './kind.js';
import { eventData } from './payload.js';

/** Every server kind: `<adapter>-<variant>`. Adding one is a file in kinds/ and a line here. */
const KINDS: Record<string, () => Promise<{ start: StartKind }>> = {
  'node-http-ours': () => import('./kinds/node-http-ours.js'),
  'node-http-raw': () => import('./kinds/node-http-raw.js'),
  'node-http-peer': () => import('./kinds/node-http-peer.js'),
  'node-http-peer-plain': () => import('./kinds/node-http-peer-plain.js'),
  'fastify-ours': () => import('./kinds/fastify-ours.js'),
  'fastify-raw': () => import('./kinds/fastify-raw.js'),
  'fastify-peer': () => import('./kinds/fastify-peer.js'),
  'koa-ours': () => import('./kinds/koa-ours.js'),
  'koa-raw': () => import('./kinds/koa-raw.js'),
  'hono-ours': () => import('./kinds/hono-ours.js'),
  'hono-raw': () => import('./kinds/hono-raw.js'),
  'hono-peer': () => import('./kinds/hono-peer.js'),
  'node-http-floor': () => import('./kinds/node-http-floor.js'),
  'uws-ours': () => import('./kinds/uws-ours.js'),
  'uws-raw': () => import('./kinds/uws-raw.js'),
};

/** No server outlives this, whatever happens to the orchestrator. */
const MAX_LIFETIME_MS = 30 * 60_000;

const send = (message: FromServer) => process.send?.(message);
const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const gc = (globalThis as { gc?: () => void }).gc;

let produced = 0;
let published = 0;

function sample(server: KindServer): ServerSample {
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return {
    rss: memory.rss,
    youngGeneration: young?.physical_space_size ?? 0,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    connections: server.connections(),
    produced,
    published,
    extra: server.stats?.() ?? {},
  };
}

/**
 * Publishes `count` events: back to back (one per event-loop turn, so I/O runs in between) when
 * `intervalMs` is 0, all in one turn (a burst: no I/O in between) when it is negative, else on a
 * fixed schedule (late ticks catch up at once rather than slip).
 */
async function publish(server: KindServer, count: number, intervalMs: number, size: number) {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    if (intervalMs > 0) {
      const wait = started + i * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      else await immediate();
    } else if (i > 0 && intervalMs === 0) {
      await immediate();
    }
    published += 1;
    server.broadcast(eventData(published, size));
  }
  return performance.now() - started;
}

async function main() {
  const config = JSON.parse(process.argv[2] ?? '{}') as ServerConfig;
  const load = KINDS[config.kind];
  if (!load) throw new Error(`unknown server kind ${config.kind}`);
  const { start } = await load();
  const server = await start({
    config,
    pollData(seq) {
      produced += 1;
      return eventData(seq, config.payloadBytes);
    },
  });
  setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ToServer) => {
    void (async () => {
      switch (message.op) {
        case 'sample': {
          if (message.gc && gc) {
            gc();
            await immediate();
            gc();
          }
          send({ op: 'reply', id: message.id, sample: sample(server) });
          break;
        }
        case 'publish': {
          const before = sample(server);
          const wallMs = await publish(
            server,
            message.count,
            message.intervalMs,
            message.payloadBytes,
          );
          send({ op: 'reply', id: message.id, before, wallMs });
          break;
        }
        case 'reset-stats':
          server.resetStats?.();
          send({ op: 'reply', id: message.id });
          break;
        case 'exit':
          await server.close?.().catch((error: unknown) => console.error(error));
          send({ op: 'reply', id: message.id });
          setImmediate(() => process.exit(0));
          break;
      }
    })();
  });
  send({ op: 'ready', port: server.port });
}

runOrReportFatal(main);
