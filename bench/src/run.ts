/**
 * The benchmark orchestrator: `pnpm bench` (full) or `pnpm bench --quick` (smoke, < 2 minutes).
 *
 * For every adapter and scenario group it starts the server under test in its own process
 * (pinned to CPU0), drives it from load-generator processes (pinned to CPU1, at most
 * `plan.perWorker` streams each), and reads the server's own cpuUsage / memoryUsage samples.
 * Ours, the raw baseline and the peer run back to back for each group, so that they see the
 * same machine load (for fan-out and latency: held at once, rounds interleaved, broadcast.ts);
 * the cross-node group runs once, after them (crossnode.ts). Exits non-zero when any delivery
 * fell short of 100% or a server crashed.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authorizeBench } from './authorize.js';
import { broadcastScenarios, broadcastTests, type HeldServer } from './broadcast.js';
import { crossNodeGroup } from './crossnode.js';
import { engineOnlyBench } from './engine-only.js';
import {
  CONNECT_SLICES,
  clientCpu,
  cpuUs,
  latencyInto,
  round,
  sleep,
  sliceOf,
  waitForEvents,
} from './measure.js';
import {
  ADAPTERS,
  FULL,
  GROUPS,
  PER_ADAPTER_GROUPS,
  type Plan,
  QUICK,
  type ScenarioGroup,
} from './plan.js';
import { postStreamBench } from './post-streams.js';
import { PINNING } from './proc.js';
import type { Adapter, ServerConfig, Variant } from './protocol.js';
import { BENCH_APPENDFSYNC } from './redis.js';
import { writeReports } from './report/write.js';
import {
  type CrossNodeResults,
  emptyMeasurement,
  type Measurement,
  type Results,
  type Topology,
} from './results.js';
import { type CrossNodeReport, loadLatest, mergeIntoLatest } from './saved.js';
import { scaleBench } from './scale.js';
import { SSE_PATH } from './server/kind.js';
import { ServerUnderTest } from './server-under-test.js';
import { soakBench } from './soak/run.js';
import { socketFloorBench } from './socket-floor.js';
import { vsBetterSseBench } from './vs-better-sse.js';
import { WorkerPool } from './workers.js';

const here = dirname(fileURLToPath(import.meta.url));
const WORKER_SCRIPT = join(here, 'client', 'worker.js');

const startedAt = Date.now();
function log(line: string) {
  const s = Math.round((Date.now() - startedAt) / 1000);
  const clock = `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  console.log(`[${clock}] ${line}`);
}
const kib = (bytes: number) => bytes / 1024;
const load1 = () => round(loadavg()[0] ?? 0, 2);

/** The command line: `--quick`, `--adapters=`, `--variants=`, `--groups=`, `--merge`, `--render`. */
function parseArgs(argv: string[]) {
  const option = (name: string) =>
    argv
      .find((arg) => arg.startsWith(`--${name}=`))
      ?.slice(name.length + 3)
      .split(',')
      .filter(Boolean);
  const quick = argv.includes('--quick');
  const adapters = option('adapters') as Adapter[] | undefined;
  const variants = option('variants') as Variant[] | undefined;
  const groups = option('groups') as ScenarioGroup[] | undefined;
  /** Merge this run's scenarios into results/latest.json and docs/benchmarks.md (full sizes only). */
  const merge = argv.includes('--merge');
  if (merge && quick) throw new Error('--merge takes a full-size run: drop --quick');
  const partial = Boolean(adapters || variants || groups);
  return { quick, plan: quick ? QUICK : FULL, adapters, variants, groups, merge, partial };
}
type Args = ReturnType<typeof parseArgs>;

type Recorder = (scenario: string, m: Measurement) => void;

/** One benchmark run: its options, its load generators, and everything it measured. */
class BenchRun {
  readonly plan: Plan;
  readonly results: Results = {};
  readonly crossnode: CrossNodeResults = {};
  readonly failures: string[] = [];

  constructor(
    readonly args: Args,
    readonly pool: WorkerPool,
  ) {
    this.plan = args.plan;
  }

  workersFor(n: number): number {
    return Math.min(this.pool.size, Math.max(2, Math.ceil(n / this.plan.perWorker)));
  }

  record(adapter: Adapter, scenario: string, variant: Variant, m: Measurement) {
    m.extra.load1 = load1();
    const byScenario = this.results[adapter] ?? {};
    this.results[adapter] = byScenario;
    byScenario[scenario] = { ...byScenario[scenario], [variant]: m };
    this.check(`${adapter} ${variant} ${scenario}`, m);
  }

  recordCrossNode(scenario: string, topology: Topology, m: Measurement) {
    m.extra.load1 = load1();
    this.crossnode[scenario] = { ...this.crossnode[scenario], [topology]: m };
    this.check(`${scenario} ${topology}`, m);
  }

  /** Counts a failure when the measurement has one, and logs its figures. */
  check(label: string, m: Measurement) {
    if (m.error) this.failures.push(`${label}: ${m.error}`);
    else if (m.delivered !== m.expected)
      this.failures.push(`${label}: delivered ${m.delivered}/${m.expected}`);
    const parts = [`${m.delivered}/${m.expected} delivered`];
    if (m.cpuUsPerEvent !== null) parts.push(`${round(m.cpuUsPerEvent)} µs/event`);
    if (m.memPerConnKB !== null)
      parts.push(`${round(m.memPerConnKB)} KiB/conn (heap ${round(m.heapPerConnKB ?? 0)})`);
    if (m.settledMemPerConnKB != null)
      parts.push(`settled ${round(m.settledMemPerConnKB)} KiB/conn`);
    if (m.p99Ms !== null) parts.push(`p50 ${round(m.p50Ms ?? 0)} / p99 ${round(m.p99Ms)} ms`);
    if (m.connectP99Ms !== null) parts.push(`connect p99 ${round(m.connectP99Ms)} ms`);
    if (m.rejected) parts.push(`${m.rejected} refused`);
    if (m.errors) parts.push(`${m.errors} errors`);
    if (m.clientCpuPct !== null) parts.push(`clients ${round(m.clientCpuPct, 0)}% CPU`);
    log(`${label}: ${parts.join(', ')}${m.error ? ` ERROR ${m.error}` : ''}`);
  }

  /**
   * Opens `count` streams to the server, spread over the generators `spreadOver` streams need:
   * ramped with retries, or (`storm`) all at once and once each. With `all`, fewer is an error.
   */
  async connectStreams(
    server: ServerUnderTest,
    count: number,
    { spreadOver = count, storm = false, all = false } = {},
  ) {
    const connect = await this.pool.connect(this.workersFor(spreadOver), {
      port: server.port,
      path: SSE_PATH,
      count,
      ...(storm
        ? { concurrency: 'all' as const, retries: 0, timeoutMs: 60_000 }
        : { concurrency: this.plan.rampConcurrency, retries: 2, timeoutMs: 120_000 }),
    });
    if (all && connect.connected < count)
      throw new Error(`only ${connect.connected}/${count} streams connected`);
    return connect;
  }

  /**
   * Starts the server for one group, runs `body`, and always cleans up: the clients hang up, the
   * server stops. Scenarios the body did not get to are recorded as failed, with the reason.
   */
  withServer(
    adapter: Adapter,
    variant: Variant,
    serverConfig: ServerConfig,
    scenarios: string[],
    body: (server: ServerUnderTest, record: Recorder) => Promise<void>,
  ) {
    return this.withServers(adapter, [{ variant, config: serverConfig }], scenarios, ([held]) =>
      body(held!.server, held!.record),
    );
  }

  /** `withServer` for several servers at once, one per variant, started in the order given. */
  async withServers(
    adapter: Adapter,
    servers: ReadonlyArray<{ variant: Variant; config: ServerConfig }>,
    scenarios: string[],
    body: (held: HeldServer[]) => Promise<void>,
  ) {
    const held: Array<HeldServer & { variant: Variant; config: ServerConfig }> = [];
    const done = new Set<string>();
    const recorder =
      (variant: Variant): Recorder =>
      (scenario, m) => {
        done.add(`${variant} ${scenario}`);
        this.record(adapter, scenario, variant, m);
      };
    try {
      for (const { variant, config: serverConfig } of servers) {
        const server = await ServerUnderTest.start(serverConfig);
        held.push({ variant, config: serverConfig, server, record: recorder(variant) });
      }
      await body(held);
    } catch (error) {
      const crashed = held.find((h) => h.server.crashed)?.server;
      const message = failed(error, crashed);
      for (const { variant } of servers) {
        for (const scenario of scenarios) {
          if (done.has(`${variant} ${scenario}`)) continue;
          const m = emptyMeasurement();
          m.error = message;
          recorder(variant)(scenario, m);
        }
      }
    } finally {
      await this.pool.close().catch(() => {});
      for (const { server, config: serverConfig } of held) {
        const crashed = server.crashed;
        await server.stop();
        if (crashed)
          this.failures.push(
            `${serverConfig.kind}: server crashed (exit ${server.child.exitCode})`,
          );
      }
    }
  }
}

function failed(error: unknown, server: ServerUnderTest | undefined): string {
  const message = error instanceof Error ? error.message : String(error);
  if (server?.crashed) return `server crashed (exit ${server.child.exitCode}): ${message}`;
  return message;
}

// ---------------------------------------------------------------------------------------------
// Scenario groups: each starts one server, measures, and stops it.

const config = (kind: string, overrides: Partial<ServerConfig> = {}): ServerConfig => ({
  kind,
  mode: 'broadcast',
  maxConnections: 0,
  pollIntervalMs: 1000,
  payloadBytes: 64,
  store: 'memory',
  ...overrides,
});

async function idleGroup(run: BenchRun, adapter: Adapter, variant: Variant) {
  const { plan, pool } = run;
  const kind = `${adapter}-${variant}`;
  const top = plan.idle[plan.idle.length - 1]!;
  const onIdle = plan.fanoutOnIdle ? plan.fanout[0] : undefined;
  const scenarios = [
    ...plan.idle.map((n) => `idle-${n}`),
    ...(onIdle ? broadcastScenarios(plan, top) : []),
  ];
  await run.withServer(adapter, variant, config(kind), scenarios, async (server, record) => {
    // Settled too: a server just started holds the young generation its start-up grew.
    if (plan.settledIdleMs > 0) await sleep(plan.settledIdleMs);
    const base = await server.sample(true);
    let held = 0;
    for (const n of plan.idle) {
      const m = emptyMeasurement();
      const connect = await run.connectStreams(server, n - held, { spreadOver: top });
      held = n;
      await sleep(plan.settleMs);
      const after = await server.sample(true);
      const counts = await pool.counts();
      m.connected = counts.open;
      m.errors = connect.errors + connect.rejected;
      m.dropped = counts.dropped;
      m.connectWallMs = round(connect.wallMs, 0);
      m.connectP50Ms = round(connect.p50Ms, 2);
      m.connectP99Ms = round(connect.p99Ms, 2);
      m.memPerConnKB = round(kib(after.rss - base.rss) / n, 3);
      m.heapPerConnKB = round(kib(after.heapUsed - base.heapUsed) / n, 3);
      m.extra.serverConnections = after.connections;
      m.extra.rssMiB = round(after.rss / 1024 / 1024, 1);
      m.extra.youngGenMiB = round(after.youngGeneration / 1024 / 1024, 1);
      m.extra.externalPerConnKB = round(kib(after.external - base.external) / n, 3);
      if (n === top && plan.settledIdleMs > 0) {
        await sleep(plan.settledIdleMs);
        const settled = await server.sample(true);
        m.settledMemPerConnKB = round(kib(settled.rss - base.rss) / n, 3);
        m.extra.settledYoungGenMiB = round(settled.youngGeneration / 1024 / 1024, 1);
      }
      // Every held stream still delivers: one event to all of them.
      await pool.reset();
      await server.publish(1, 0, 64, 30_000);
      const wait = await waitForEvents(pool, () => server.crashed, n, 60_000);
      m.delivered = wait.counts.events;
      m.expected = n;
      if (wait.counts.dropped > 0) m.error = `${wait.counts.dropped} streams dropped`;
      else if (m.connected < n) m.error = `only ${m.connected}/${n} streams connected`;
      record(`idle-${n}`, m);
    }
    if (onIdle)
      await broadcastTests(plan, pool, [{ server, record }], top, onIdle.events, onIdle.rounds);
  });
}

/**
 * Fan-out and latency at N streams for every variant of one adapter, held at once with the rounds
 * interleaved (broadcast.ts).
 */
async function fanoutGroup(
  run: BenchRun,
  adapter: Adapter,
  variants: readonly Variant[],
  { n, events, rounds }: Plan['fanout'][number],
) {
  const servers = variants.map((variant) => ({ variant, config: config(`${adapter}-${variant}`) }));
  await run.withServers(adapter, servers, broadcastScenarios(run.plan, n), async (held) => {
    for (let slice = 0; slice < CONNECT_SLICES; slice += 1) {
      for (const { server } of held) {
        const count = sliceOf(n, CONNECT_SLICES, slice);
        await run.connectStreams(server, count, { spreadOver: n * held.length, all: true });
      }
    }
    await sleep(run.plan.settleMs);
    await broadcastTests(run.plan, run.pool, held, n, events, rounds);
  });
}

/** Connect storms; cases with the same maxConnections run one after the other on one server. */
async function stormGroup(run: BenchRun, adapter: Adapter, variant: Variant, cases: Plan['storm']) {
  const { plan, pool } = run;
  const kind = `${adapter}-${variant}`;
  const maxConnections = cases[0]!.maxConnections;
  const scenarios = cases.map((c) => `storm-${c.id}`);
  await run.withServer(
    adapter,
    variant,
    config(kind, { maxConnections }),
    scenarios,
    async (server, record) => {
      for (const { id, clients } of cases) {
        const m = emptyMeasurement();
        const connect = await run.connectStreams(server, clients, { storm: true });
        const accepted = Math.min(clients, maxConnections);
        m.connected = connect.connected;
        m.rejected = connect.rejected;
        m.errors = connect.errors;
        m.connectWallMs = round(connect.wallMs, 0);
        m.connectP50Ms = round(connect.p50Ms, 2);
        m.connectP99Ms = round(connect.p99Ms, 2);
        m.extra.maxConnections = maxConnections;
        m.extra.clients = clients;
        for (const [code, count] of Object.entries(connect.errorCodes))
          m.extra[`error${code}`] = count;
        await sleep(plan.settleMs);
        await pool.reset();
        await server.publish(1, 0, 64, 30_000);
        const wait = await waitForEvents(pool, () => server.crashed, accepted, 60_000);
        m.delivered = wait.counts.events;
        m.expected = accepted;
        const after = await server.sample(false);
        Object.assign(m.extra, after.extra);
        if (connect.connected !== accepted || connect.rejected !== clients - accepted) {
          m.error = `expected ${accepted} streams and ${clients - accepted} refusals, got ${connect.connected} and ${connect.rejected} (${connect.errors} errors)`;
        }
        record(`storm-${id}`, m);
        // The next case starts from no streams at all.
        await pool.close();
        await waitUntil(async () => (await server.sample(false)).connections === 0, 5000);
      }
    },
  );
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await condition()) return true;
    await sleep(20);
  }
  return false;
}

async function pollGroup(run: BenchRun, adapter: Adapter, variant: Variant, n: number) {
  const { plan, pool } = run;
  const kind = `${adapter}-${variant}`;
  const { intervalMs, seconds, payload } = plan.poll;
  const scenario = `poll-${n}`;
  const pollConfig = config(kind, {
    mode: 'poll',
    pollIntervalMs: intervalMs,
    payloadBytes: payload,
  });
  await run.withServer(adapter, variant, pollConfig, [scenario], async (server, record) => {
    const m = emptyMeasurement();
    await run.connectStreams(server, n, { all: true });
    await sleep(intervalMs * 1.5);
    await pool.reset();
    const before = await server.sample(false);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const after = await server.sample(false);
    const stats = await pool.stats(true);
    const wallMs = performance.now() - t0;
    const produced = after.produced - before.produced;
    m.connected = stats.open;
    m.dropped = stats.dropped;
    m.delivered = stats.events;
    // From each stream's sequence numbers: a gap is a lost event; a silent stream lost them all.
    m.expected = stats.seqExpected + stats.silent * Math.floor((seconds * 1000) / intervalMs);
    m.cpuUsPerEvent = produced > 0 ? round((cpuUs(after) - cpuUs(before)) / produced, 3) : null;
    latencyInto(m, stats);
    m.deliveriesPerSec = round(stats.events / (wallMs / 1000), 0);
    m.clientCpuPct = clientCpu(stats, wallMs);
    m.extra.produced = produced;
    m.extra.silentStreams = stats.silent;
    m.extra.serverCpuPct = round(((cpuUs(after) - cpuUs(before)) / 1000 / wallMs) * 100, 1);
    Object.assign(m.extra, after.extra);
    if (stats.dropped > 0) m.error = `${stats.dropped} streams dropped`;
    record(scenario, m);
  });
}

// ---------------------------------------------------------------------------------------------

async function main() {
  // First: it has a --render of its own.
  if (process.argv.includes('--soak')) {
    if (!(await soakBench(process.argv.slice(2), log))) {
      console.error('FAILED: a soak set-up lost, duplicated or left streams open');
      process.exit(1);
    }
    return;
  }
  if (process.argv.includes('--render')) {
    for (const file of await writeReports(await loadLatest())) log(`rewrote ${file}`);
    return;
  }
  if (process.argv.includes('--vs-better-sse')) {
    const correct = await vsBetterSseBench(process.argv.includes('--quick'), log);
    process.exit(correct ? 0 : 1);
  }
  if (process.argv.includes('--socket-floor')) {
    await socketFloorBench(process.argv.includes('--quick'), log);
    return;
  }
  if (process.argv.includes('--engine-only')) {
    await engineOnlyBench(process.argv.includes('--quick'), log);
    return;
  }
  if (process.argv.includes('--authorize')) {
    await authorizeBench(process.argv.includes('--quick'), log);
    return;
  }
  if (process.argv.includes('--post-streams')) {
    const correct = await postStreamBench(process.argv.includes('--quick'), log);
    if (!correct) {
      console.error('FAILED: the resumed stream lost, duplicated or reordered events');
      process.exit(1);
    }
    return;
  }
  if (process.argv.includes('--scale')) {
    if (!(await scaleBench(process.argv.includes('--quick'), log))) {
      console.error('FAILED: a stream missed an event, got one twice, or a server crashed');
      process.exit(1);
    }
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  const { plan, quick } = args;
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: PINNING.available
      ? `server on CPU${PINNING.server}, load generators on CPU${PINNING.clients} (taskset)`
      : 'not pinned (taskset or a second core missing)',
  };
  const loadStart = loadavg().map((v) => round(v, 2));
  log(
    `sse-middleware benchmarks (${plan.name}); Node ${process.version}; ${machine.cores} cores; load ${loadStart.join(' ')}`,
  );
  const maxStreams = Math.max(
    ...plan.idle,
    ...plan.fanout.map((f) => f.n),
    ...plan.storm.map((c) => c.clients),
    ...plan.poll.n,
    ...plan.crossnode.sizes.map((s) => s.n),
  );
  const pool = await WorkerPool.start(
    Math.max(2, Math.ceil(maxStreams / plan.perWorker)),
    WORKER_SCRIPT,
  );
  const run = new BenchRun(args, pool);
  let redisPlacement = '';
  try {
    redisPlacement = await measureAll(run);
  } finally {
    await pool.stop().catch(() => {});
  }
  const loadEnd = loadavg().map((v) => round(v, 2));
  const durationS = Math.round((Date.now() - startedAt) / 1000);
  const crossnode: CrossNodeReport | undefined = redisPlacement
    ? {
        redis: `${redisPlacement}; appendonly yes, appendfsync ${BENCH_APPENDFSYNC}`,
        results: run.crossnode,
      }
    : undefined;
  const input = {
    plan,
    partial: args.partial && !args.merge,
    results: run.results,
    ...(crossnode ? { crossnode } : {}),
    failures: run.failures,
    meta: {
      date: new Date().toISOString(),
      durationS,
      machine,
      loadStart,
      loadEnd,
      command: quick ? 'pnpm bench --quick' : 'pnpm bench',
      args: process.argv.slice(2),
    },
  };
  const written = await writeReports(args.merge ? await mergeIntoLatest(input) : input);
  for (const file of written) log(`wrote ${file}`);
  if (run.failures.length > 0) {
    console.error(`\n${run.failures.length} failure(s):`);
    for (const failure of run.failures) console.error(`  - ${failure}`);
    console.error(`\nFAILED in ${durationS} s`);
    process.exit(1);
  }
  log(`all deliveries 100%, no server crashed; done in ${durationS} s`);
}

/** Every selected group, adapter and variant; returns where redis-server ran, if it did. */
async function measureAll(run: BenchRun): Promise<string> {
  const { plan, pool, args } = run;
  const adapters = ADAPTERS.filter((a) => !args.adapters || args.adapters.includes(a.adapter));
  const groups = GROUPS.filter((g) => !args.groups || args.groups.includes(g));
  const perAdapter = groups.filter((g) => PER_ADAPTER_GROUPS.includes(g));
  for (const { adapter, variants: all, floor } of perAdapter.length ? adapters : []) {
    const variants = all.filter((v) => !args.variants || args.variants.includes(v));
    const withFloor = floor && (!args.variants || args.variants.includes('floor'));
    const fanoutVariants: Variant[] = withFloor ? [...variants, 'floor'] : variants;
    // Ours, raw and peer back to back, scenario by scenario, so that they see the same load.
    for (const group of perAdapter) {
      if (group === 'idle') for (const v of variants) await idleGroup(run, adapter, v);
      if (group === 'fanout' && !plan.fanoutOnIdle) {
        for (const size of plan.fanout) await fanoutGroup(run, adapter, fanoutVariants, size);
      }
      if (group === 'storm') {
        const servers = new Map<number, Plan['storm']>();
        for (const c of plan.storm)
          servers.set(c.maxConnections, [...(servers.get(c.maxConnections) ?? []), c]);
        for (const cases of servers.values())
          for (const v of variants) await stormGroup(run, adapter, v, cases);
      }
      if (group === 'poll') {
        for (const n of plan.poll.n) for (const v of variants) await pollGroup(run, adapter, v, n);
      }
      if (!pool.allAlive) throw new Error('a load generator died');
    }
  }
  if (!groups.includes('crossnode')) return '';
  const { redisPlacement } = await crossNodeGroup({
    plan,
    pool,
    workersFor: (n) => run.workersFor(n),
    record: (scenario, topology, m) => run.recordCrossNode(scenario, topology, m),
    log,
  });
  if (!pool.allAlive) throw new Error('a load generator died');
  return redisPlacement;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
