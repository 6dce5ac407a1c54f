/**
 * The cross-node scenario: fan-out latency through a Redis stream against one process in memory.
 *
 * At each N, back to back (alternating for `rounds`) and on the same publish schedule: `single` is one node-http server with
 * the in-memory channel holding all N streams; `redis` is `plan.crossnode.nodes` node-http
 * servers whose channels share one Redis stream, the N streams spread evenly over them, and the
 * events published on the first only, so that every event goes XADD → each server's tail
 * (XREAD BLOCK) → its local fan-out; `redisOne` is one such server holding all N streams, which
 * separates what Redis adds from what three servers sharing one core add. Every stream must get
 * every event exactly once.
 */
import { type Histogram, newHistogram } from './histogram.js';
import { clientCpu, latencyInto, median, round, sleep, waitForEvents } from './measure.js';
import type { CrossNodeSize, Plan } from './plan.js';
import type { ServerConfig, ServerSample } from './protocol.js';
import { startBenchRedis } from './redis.js';
import { emptyMeasurement, type Measurement, type Topology } from './results.js';
import { ServerUnderTest } from './server-under-test.js';
import type { WorkerPool } from './workers.js';

const KIND = 'node-http-ours';
const SSE_PATH = '/sse';
const WARMUP_EVENTS = 5;

export interface CrossNodeContext {
  plan: Plan;
  pool: WorkerPool;
  /** How many load generators to spread N streams over. */
  workersFor(n: number): number;
  record(scenario: string, topology: Topology, m: Measurement): void;
  log(line: string): void;
}

export const crossNodeScenario = (n: number) => `crossnode-${n}`;

/** Runs every size of the plan against one redis-server; returns where Redis ran, for the report. */
export async function crossNodeGroup(ctx: CrossNodeContext): Promise<{ redisPlacement: string }> {
  const redis = await startBenchRedis();
  ctx.log(`redis-server ${redis.server.url} (pid ${redis.server.pid}), ${redis.placement}`);
  try {
    for (const size of ctx.plan.crossnode.sizes) {
      const rounds: Record<Topology, Round[]> = { single: [], redisOne: [], redis: [] };
      // Alternating, so that both see the same drift of the machine's load.
      for (let r = 0; r < size.rounds; r += 1) {
        rounds.single.push(await measureTopology(ctx, size, [serverConfig(ctx.plan, {})]));
        const onRedis = (servers: number, name: string) => {
          const redisKey = `sse-bench:crossnode:${size.n}:${r}:${name}:${Date.now()}`;
          return Array.from({ length: servers }, () =>
            serverConfig(ctx.plan, { store: 'redis', redisUrl: redis.server.url, redisKey }),
          );
        };
        rounds.redisOne.push(await measureTopology(ctx, size, onRedis(1, 'one')));
        rounds.redis.push(
          await measureTopology(ctx, size, onRedis(ctx.plan.crossnode.nodes, 'all')),
        );
        ctx.log(
          `crossnode-${size.n} round ${r + 1}/${size.rounds}: p99 single ${rounds.single[r]!.m.p99Ms} / redis, 1 server ${rounds.redisOne[r]!.m.p99Ms} / redis, ${ctx.plan.crossnode.nodes} servers ${rounds.redis[r]!.m.p99Ms} ms`,
        );
      }
      for (const topology of ['single', 'redisOne', 'redis'] as const)
        ctx.record(crossNodeScenario(size.n), topology, combine(rounds[topology]));
    }
  } finally {
    await redis.server.stop();
  }
  return { redisPlacement: redis.placement };
}

/** One round of one topology: its figures, and the latencies to pool with the other rounds'. */
interface Round {
  m: Measurement;
  latency: Histogram | undefined;
}

/**
 * The rounds of one topology as one measurement: deliveries and CPU summed, latencies pooled into
 * one histogram (each round's p99 kept as `p99Round<i>`), the servers' timings the median round's
 * (their maxima the largest).
 */
function combine(rounds: Round[]): Measurement {
  const m = emptyMeasurement();
  const latency = newHistogram();
  let serverCpuUs = 0;
  for (const [i, round] of rounds.entries()) {
    m.delivered += round.m.delivered;
    m.expected += round.m.expected;
    m.dropped += round.m.dropped;
    m.connected = Math.max(m.connected, round.m.connected);
    serverCpuUs += round.m.extra.serverCpuUs ?? 0;
    if (round.latency) latency.add(round.latency);
    if (round.m.error)
      m.error = [m.error, `round ${i + 1}: ${round.m.error}`].filter(Boolean).join('; ');
    if (round.m.p99Ms !== null) m.extra[`p99Round${i + 1}`] = round.m.p99Ms;
  }
  if (latency.totalCount > 0) {
    m.p50Ms = round(latency.getValueAtPercentile(50) / 1000, 3);
    m.p99Ms = round(latency.getValueAtPercentile(99) / 1000, 3);
    m.p999Ms = round(latency.getValueAtPercentile(99.9) / 1000, 3);
    m.maxMs = round(latency.maxValue / 1000, 3);
  }
  m.cpuUsPerEvent = m.delivered > 0 ? round(serverCpuUs / m.delivered, 3) : null;
  const counted = ['repeated', 'silentStreams', 'publishFailures', 'events'];
  const names = new Set(rounds.flatMap((r) => Object.keys(r.m.extra)));
  for (const name of names) {
    if (name === 'serverCpuUs') continue;
    const values = rounds.map((r) => r.m.extra[name]).filter((v): v is number => v !== undefined);
    if (counted.includes(name)) m.extra[name] = sum(values);
    else m.extra[name] = name.endsWith('MaxMs') ? Math.max(...values) : median(values);
  }
  m.extra.rounds = rounds.length;
  for (const name of ['deliveriesPerSec', 'clientCpuPct'] as const) {
    const values = rounds.map((r) => r.m[name]).filter((v): v is number => v !== null);
    m[name] = values.length ? median(values) : null;
  }
  return m;
}

function serverConfig(plan: Plan, store: Partial<ServerConfig>): ServerConfig {
  return {
    kind: KIND,
    mode: 'broadcast',
    maxConnections: 0,
    pollIntervalMs: 1000,
    payloadBytes: plan.crossnode.payload,
    store: 'memory',
    ...store,
  };
}

/** Starts the servers, measures one round of one topology at one size, and always cleans up. */
async function measureTopology(
  ctx: CrossNodeContext,
  size: CrossNodeSize,
  configs: ServerConfig[],
): Promise<Round> {
  const servers: ServerUnderTest[] = [];
  const gone = () => servers.some((server) => server.crashed);
  let m = emptyMeasurement();
  let latency: Histogram | undefined;
  try {
    for (const [i, config] of configs.entries()) {
      servers.push(await ServerUnderTest.start(config, `${KIND}-${config.store}-${i}`));
    }
    ({ m, latency } = await measure(ctx, servers, size, gone));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const crashed = servers.filter((server) => server.crashed);
    m.error = crashed.length
      ? `server crashed (exit ${crashed.map((s) => s.child.exitCode).join(', ')}): ${message}`
      : message;
  } finally {
    await ctx.pool.close().catch(() => {});
    if (!m.error && gone()) m.error = 'a server crashed';
    await Promise.all(servers.map((server) => server.stop()));
  }
  m.extra.nodes = configs.length;
  return { m, latency };
}

async function measure(
  ctx: CrossNodeContext,
  servers: ServerUnderTest[],
  { n, rate, seconds }: CrossNodeSize,
  gone: () => boolean,
): Promise<Round> {
  const { pool, plan } = ctx;
  const publisher = servers[0]!;
  const m = emptyMeasurement();
  // N streams spread evenly over the servers, each share over the same load generators.
  for (const [i, server] of servers.entries()) {
    const share = Math.floor(n / servers.length) + (i < n % servers.length ? 1 : 0);
    const connect = await pool.connect(ctx.workersFor(n), {
      port: server.port,
      path: SSE_PATH,
      count: share,
      concurrency: plan.rampConcurrency,
      retries: 2,
      timeoutMs: 120_000,
    });
    if (connect.connected < share)
      throw new Error(`only ${connect.connected}/${share} streams connected to server ${i}`);
  }
  await sleep(plan.settleMs);

  // Warm-up, not measured: cold code, and proof that every server's tail is live.
  await pool.reset();
  await publisher.publish(WARMUP_EVENTS, 0, plan.crossnode.payload, 60_000);
  const warm = await waitForEvents(pool, gone, n * WARMUP_EVENTS, 60_000);
  if (warm.counts.events !== n * WARMUP_EVENTS)
    throw new Error(`warm-up: ${warm.counts.events}/${n * WARMUP_EVENTS} events delivered`);

  const count = Math.max(1, Math.round(rate * seconds));
  await pool.reset();
  await Promise.all(servers.map((server) => server.resetStats()));
  const t0 = performance.now();
  const before = await Promise.all(servers.map((server) => server.sample(false)));
  const { wallMs: publishMs } = await publisher.publish(
    count,
    1000 / rate,
    plan.crossnode.payload,
    seconds * 1000 + 120_000,
  );
  const wait = await waitForEvents(pool, gone, n * count, 120_000);
  const after = await Promise.all(servers.map((server) => server.sample(false)));
  const stats = await pool.stats(true);
  const wallMs = performance.now() - t0;

  m.delivered = stats.events;
  m.expected = n * count;
  m.connected = stats.open;
  m.dropped = stats.dropped;
  const serverCpuUs = sum(after.map(cpuUs)) - sum(before.map(cpuUs));
  m.cpuUsPerEvent = stats.events > 0 ? round(serverCpuUs / stats.events, 3) : null;
  latencyInto(m, stats);
  m.deliveriesPerSec = round(stats.events / (wallMs / 1000), 0);
  m.clientCpuPct = clientCpu(stats, wallMs);
  const publishFailures =
    (after[0]!.extra.publishFailures ?? 0) - (before[0]!.extra.publishFailures ?? 0);
  Object.assign(m.extra, {
    events: count,
    rate,
    publishWallMs: round(publishMs, 0),
    waitMs: round(wait.ms, 0),
    serverCpuUs,
    serverCpuPct: round((serverCpuUs / 1000 / wallMs) * 100, 1),
    repeated: stats.repeated,
    silentStreams: stats.silent,
    publishFailures,
    ...worstOf(after),
  });
  m.error = problem(m, stats.repeated, stats.silent, publishFailures);
  return { m, latency: stats.latency };
}

/** Why this measurement fails the run, if it does: loss, duplicates, dropped or silent streams. */
function problem(m: Measurement, repeated: number, silent: number, publishFailures: number) {
  const problems: string[] = [];
  if (publishFailures > 0) problems.push(`${publishFailures} publishes rejected`);
  if (m.delivered > m.expected) problems.push(`${m.delivered - m.expected} events too many`);
  if (repeated > 0) problems.push(`${repeated} events repeated or out of order`);
  if (m.dropped > 0) problems.push(`${m.dropped} streams dropped`);
  if (silent > 0) problems.push(`${silent} streams got nothing`);
  return problems.length ? problems.join('; ') : undefined;
}

const cpuUs = (s: ServerSample) => s.cpuUserUs + s.cpuSystemUs;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/**
 * The store's timings (see server/store.ts) of the slowest server, and the publisher's publish
 * round trip: where the time between publish and fan-out goes.
 */
function worstOf(samples: ServerSample[]): Record<string, number> {
  const worst: Record<string, number> = {};
  for (const name of ['tail', 'fanOut']) {
    for (const stat of ['P50Ms', 'P99Ms', 'MaxMs']) {
      const values = samples
        .map((s) => s.extra[`${name}${stat}`])
        .filter((v): v is number => v !== undefined);
      if (values.length) worst[`${name}${stat}`] = Math.max(...values);
    }
  }
  const publisher = samples[0]?.extra ?? {};
  for (const stat of ['publishP50Ms', 'publishP99Ms', 'publishMaxMs']) {
    const value = publisher[stat];
    if (value !== undefined) worst[stat] = value;
  }
  return worst;
}
