/**
 * `pnpm bench --scale`: 100,000 concurrent streams on this one machine (issue 15, target 4).
 *
 * Six server processes (node-http and uWS in turn, ≤ 19,000 streams each: a process may hold
 * 20,000 fds) share one channel through one Redis stream; six load generators (client/worker.ts,
 * as in the rest of the benchmark) hold the streams, their sockets bound round robin to loopback
 * source addresses 127.0.0.2… so that no source address runs out of ephemeral ports. Servers and redis-server share CPU0, the
 * generators CPU1, as in the rest of the benchmark. Measured: server RSS per stream after GC,
 * the kernel's memory per stream (scale/kernel.ts), then `broadcasts` events published one at a
 * time on the first server (XADD → every server's XREAD tail → its local fan-out): p50 / p99 / max
 * over all deliveries of each, every stream getting every event exactly once, and Redis's
 * commands per event. `--quick`: 6,000 streams over two servers, under a minute.
 *
 * Writes `bench/results/scale.json` and `docs/benchmarks-scale.md` (`--quick`:
 * `bench/results/scale-quick.{json,md}`). Leaves nothing running: every child is stopped in
 * `finally`, redis-server also on exit and on SIGINT / SIGTERM; the node children exit when the
 * orchestrator's IPC channel closes.
 */
import { rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Histogram, newHistogram } from './histogram.js';
import { cpuUs, round, sleep, waitForEvents } from './measure.js';
import { PINNING } from './proc.js';
import type { ConnectRequest, ServerConfig, ServerSample } from './protocol.js';
import { BENCH_APPENDFSYNC, startBenchRedis } from './redis.js';
import { kernelSnapshot, perStream, readProc } from './scale/kernel.js';
import {
  checkPlan,
  SCALE_FULL,
  SCALE_QUICK,
  type ScalePlan,
  sourceAddresses,
} from './scale/plan.js';
import { callsBetween, commandCalls } from './scale/redis-calls.js';
import { writeScaleReport } from './scale/report.js';
import type { BroadcastFigures, ScaleResult, ServerFigures } from './scale/result.js';
import { SSE_PATH } from './server/kind.js';
import { ServerUnderTest } from './server-under-test.js';
import { WorkerPool } from './workers.js';

const GENERATOR_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'client', 'worker.js');
const KIB = 1024;
const ms = (histogram: Histogram, percentile: number) =>
  round(histogram.getValueAtPercentile(percentile) / 1000, 3);

type Log = (line: string) => void;

/** Runs the scenario; resolves false when a delivery fell short or anything failed. */
export async function scaleBench(quick: boolean, log: Log): Promise<boolean> {
  const plan = quick ? SCALE_QUICK : SCALE_FULL;
  checkPlan(plan);
  const startedAt = Date.now();
  log(
    `scale (${plan.name}): ${plan.streams} streams over ${plan.servers.length} servers (${plan.servers.join(', ')}) on one Redis stream, ${plan.generators} load generators from ${plan.sourceAddresses} source addresses`,
  );
  const redis = await startBenchRedis();
  const killRedis = () => {
    if (redis.server.pid !== undefined) {
      try {
        process.kill(redis.server.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(redis.server.dir, { recursive: true, force: true });
  };
  const onSignal = () => process.exit(130);
  process.once('exit', killRedis);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  log(`redis-server ${redis.server.url} (pid ${redis.server.pid}), ${redis.placement}`);
  let pool: WorkerPool | undefined;
  const servers: ServerUnderTest[] = [];
  try {
    pool = await WorkerPool.start(plan.generators, GENERATOR_SCRIPT);
    const redisKey = `sse-bench:scale:${Date.now()}`;
    for (const [i, kind] of plan.servers.entries()) {
      const config: ServerConfig = {
        kind,
        mode: 'broadcast',
        maxConnections: 0,
        pollIntervalMs: 1000,
        payloadBytes: plan.payloadBytes,
        store: 'redis',
        redisUrl: redis.server.url,
        redisKey,
      };
      servers.push(await ServerUnderTest.start(config, `scale-${kind}-${i}`));
    }
    const result = await measure(plan, pool, servers, redis.server.port, log);
    result.durationS = Math.round((Date.now() - startedAt) / 1000);
    result.machine.redis = `${redis.placement}; appendonly yes, appendfsync ${BENCH_APPENDFSYNC}`;
    for (const file of await writeScaleReport(result, quick)) log(`wrote ${file}`);
    for (const failure of result.failures) console.error(`  - ${failure}`);
    return result.failures.length === 0;
  } finally {
    await pool?.close().catch(() => {});
    await Promise.all(servers.map((server) => server.stop()));
    await pool?.stop().catch(() => {});
    await redis.server.stop();
    process.off('exit', killRedis);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const share = (total: number, parts: number, i: number) =>
  Math.floor(total / parts) + (i < total % parts ? 1 : 0);

async function measure(
  plan: ScalePlan,
  pool: WorkerPool,
  servers: ServerUnderTest[],
  redisPort: number,
  log: Log,
): Promise<ScaleResult> {
  const failures: string[] = [];
  const gone = () => servers.some((server) => server.crashed);
  const sampleAll = (gc: boolean) => Promise.all(servers.map((server) => server.sample(gc)));
  const shares = servers.map((_, i) => share(plan.streams, servers.length, i));
  const localAddresses = sourceAddresses(plan);

  const base = await sampleAll(true);
  const kernelBefore = kernelSnapshot();
  const ramp = { wallMs: 0, connectP50Ms: 0, connectP99Ms: 0, errors: 0 };
  for (const [i, server] of servers.entries()) {
    const request: ConnectRequest = {
      port: server.port,
      path: SSE_PATH,
      count: shares[i]!,
      concurrency: plan.rampConcurrency,
      retries: 2,
      timeoutMs: 180_000,
      localAddresses,
      sequenceAcrossPhases: true,
    };
    const connect = await pool.connect(plan.generators, request);
    ramp.wallMs += connect.wallMs;
    ramp.connectP50Ms = Math.max(ramp.connectP50Ms, connect.p50Ms);
    ramp.connectP99Ms = Math.max(ramp.connectP99Ms, connect.p99Ms);
    ramp.errors += connect.errors + connect.rejected;
    log(
      `server ${i} (${plan.servers[i]}): ${connect.connected}/${shares[i]} streams in ${round(connect.wallMs / 1000, 1)} s${connect.errors ? `, errors ${JSON.stringify(connect.errorCodes)}` : ''}`,
    );
    if (connect.connected < shares[i]!)
      throw new Error(`only ${connect.connected}/${shares[i]} streams connected to server ${i}`);
  }
  await sleep(plan.settleMs);
  const held = await sampleAll(true);
  const kernelHeld = kernelSnapshot();
  const open = (await pool.counts()).open;
  const serving = held.map((s) => s.connections);
  log(`held: ${open} streams open at the clients, ${serving.join(' + ')} at the servers`);
  if (open !== plan.streams) throw new Error(`${open}/${plan.streams} streams open`);

  const publisher = servers[0]!;
  for (let w = 0; w < plan.warmup; w += 1) {
    await pool.reset();
    await publisher.publish(1, 0, plan.payloadBytes, 60_000);
    const warm = await waitForEvents(pool, gone, plan.streams, 120_000);
    if (warm.counts.events !== plan.streams)
      throw new Error(`warm-up ${w + 1}: ${warm.counts.events}/${plan.streams} delivered`);
    await sleep(plan.gapMs);
  }

  await Promise.all(servers.map((server) => server.resetStats()));
  const callsBefore = await commandCalls(redisPort);
  const broadcasts: BroadcastFigures[] = [];
  const all = newHistogram();
  const cpuByServer = servers.map(() => 0);
  let clientCpuUs = 0;
  for (let b = 0; b < plan.broadcasts; b += 1) {
    await pool.reset();
    const before = await sampleAll(false);
    await publisher.publish(1, 0, plan.payloadBytes, 60_000);
    await waitForEvents(pool, gone, plan.streams, 120_000);
    const after = await sampleAll(false);
    const stats = await pool.stats(true);
    all.add(stats.latency);
    const serverCpu = after.map((s, i) => cpuUs(s) - cpuUs(before[i]!));
    serverCpu.forEach((us, i) => {
      cpuByServer[i]! += us;
    });
    const client = stats.cpuUserUs + stats.cpuSystemUs;
    clientCpuUs += client;
    const figures: BroadcastFigures = {
      delivered: stats.events,
      expected: plan.streams,
      silent: stats.silent,
      repeated: stats.repeated,
      dropped: stats.dropped,
      p50Ms: ms(stats.latency, 50),
      p99Ms: ms(stats.latency, 99),
      maxMs: round(stats.latency.maxValue / 1000, 3),
      serverCpuUs: serverCpu.reduce((a, c) => a + c, 0),
      clientCpuUs: client,
    };
    broadcasts.push(figures);
    log(
      `broadcast ${b + 1}/${plan.broadcasts}: ${figures.delivered}/${figures.expected} delivered, p50 ${figures.p50Ms} / p99 ${figures.p99Ms} / max ${figures.maxMs} ms`,
    );
    const problem = broadcastProblem(figures);
    if (problem) failures.push(`broadcast ${b + 1}: ${problem}`);
    await sleep(plan.gapMs);
  }
  const calls = callsBetween(callsBefore, await commandCalls(redisPort));
  const final = await sampleAll(true);
  const kernelAfter = kernelSnapshot();
  if (gone()) failures.push('a server crashed');

  const delivered = broadcasts.reduce((a, b) => a + b.delivered, 0);
  const expected = plan.streams * plan.broadcasts;
  return {
    date: new Date().toISOString(),
    command: `pnpm bench --scale${plan.name === 'quick' ? ' --quick' : ''}`,
    durationS: 0,
    plan,
    machine: machine(),
    ramp: {
      wallMs: round(ramp.wallMs, 0),
      connectP50Ms: round(ramp.connectP50Ms, 2),
      connectP99Ms: round(ramp.connectP99Ms, 2),
      errors: ramp.errors,
    },
    servers: servers.map((_, i) =>
      serverFigures(plan.servers[i]!, shares[i]!, base[i]!, held[i]!, final[i]!, {
        cpuUs: cpuByServer[i]!,
        deliveries: shares[i]! * plan.broadcasts,
      }),
    ),
    kernel: {
      before: kernelBefore,
      held: kernelHeld,
      afterBroadcasts: kernelAfter,
      perStream: perStream(kernelBefore, kernelHeld, plan.streams),
    },
    broadcasts,
    all: {
      delivered,
      expected,
      p50Ms: ms(all, 50),
      p99Ms: ms(all, 99),
      p999Ms: ms(all, 99.9),
      maxMs: round(all.maxValue / 1000, 3),
    },
    redisCallsPerEvent: Object.fromEntries(
      Object.entries(calls).map(([name, count]) => [name, round(count / plan.broadcasts, 2)]),
    ),
    serverCpuUsPerDelivery: round(
      cpuByServer.reduce((a, c) => a + c, 0) / Math.max(1, delivered),
      3,
    ),
    clientCpuUsPerDelivery: round(clientCpuUs / Math.max(1, delivered), 3),
    failures,
  };
}

/** Why one broadcast fails the run, if it does: loss, duplicates, dropped or silent streams. */
function broadcastProblem(b: BroadcastFigures): string | undefined {
  const problems: string[] = [];
  if (b.delivered !== b.expected) problems.push(`delivered ${b.delivered}/${b.expected}`);
  if (b.repeated > 0) problems.push(`${b.repeated} events repeated or out of order`);
  if (b.dropped > 0) problems.push(`${b.dropped} streams dropped`);
  if (b.silent > 0) problems.push(`${b.silent} streams got nothing`);
  return problems.length ? problems.join('; ') : undefined;
}

function serverFigures(
  kind: string,
  streams: number,
  base: ServerSample,
  held: ServerSample,
  final: ServerSample,
  cpu: { cpuUs: number; deliveries: number },
): ServerFigures {
  const figures: ServerFigures = {
    kind,
    streams,
    rssMiB: round(held.rss / KIB / KIB, 1),
    rssPerStreamKiB: round((held.rss - base.rss) / KIB / streams, 3),
    heapPerStreamKiB: round((held.heapUsed - base.heapUsed) / KIB / streams, 3),
    cpuUsPerDelivery: round(cpu.cpuUs / Math.max(1, cpu.deliveries), 3),
  };
  const { tailP99Ms, fanOutP99Ms } = final.extra;
  if (tailP99Ms !== undefined) figures.tailP99Ms = tailP99Ms;
  if (fanOutP99Ms !== undefined) figures.fanOutP99Ms = fanOutP99Ms;
  return figures;
}

function machine(): Record<string, string | number> {
  const read = (path: string) => readProc(path).trim() || 'unknown';
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    pinned: PINNING.available
      ? `servers and redis-server on CPU${PINNING.server}, load generators on CPU${PINNING.clients} (taskset)`
      : 'not pinned (taskset or a second core missing)',
    openFilesLimit:
      read('/proc/self/limits')
        .split('\n')
        .find((line) => line.startsWith('Max open files'))
        ?.replace(/\s+/g, ' ')
        .trim() ?? 'unknown',
    ephemeralPorts: read('/proc/sys/net/ipv4/ip_local_port_range').replace(/\s+/g, '–'),
    somaxconn: read('/proc/sys/net/core/somaxconn'),
    fileMax: read('/proc/sys/fs/file-max'),
    tcpMemPages: read('/proc/sys/net/ipv4/tcp_mem').replace(/\s+/g, ' / '),
  };
}
