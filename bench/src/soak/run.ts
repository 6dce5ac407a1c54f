/**
 * `pnpm bench --soak`: every adapter held for a long while under a steady broadcast, with a slice
 * of the clients dropping and resuming with `Last-Event-ID` every minute and, on the Redis
 * set-up, a Redis restart in the middle. Set-ups run `plan.parallel` at a time, each in its own
 * server and load-generator processes, unpinned (the two cores are shared by all of them).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from '../proc.js';
import { type BenchRedis, startBenchRedis } from '../redis.js';
import { twoAtATimeFits } from './analysis.js';
import { SETUPS, type SoakPlan, type SoakSetup, soakPlan } from './plan.js';
import type {
  ClientCounts,
  ClientVerdict,
  FromSoakClient,
  FromSoakServer,
  PublishOutcome,
  SoakServerConfig,
  SoakServerSample,
} from './protocol.js';
import { soakJson, writeSoakReport } from './report.js';
import { checkSequences, type SequenceCheck } from './sequences.js';

const here = dirname(fileURLToPath(import.meta.url));
const SERVER_SCRIPT = join(here, 'server.js');
const CLIENT_SCRIPT = join(here, 'client.js');
const WATCHDOG_SCRIPT = join(here, 'watchdog.js');
const DRAIN_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 15_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One point of a set-up's timeline. */
export interface SoakPoint {
  /** Seconds since the slot started. */
  t: number;
  /** One sample per server process. */
  servers: SoakServerSample[];
  clients: ClientCounts;
  /** Events the clients received per second since the previous point. */
  deliveredPerSec: number;
  /** The load-generator processes' CPU since the previous point, % of one core. */
  clientCpuPct: number;
  /** The servers' CPU since the previous point, % of one core. */
  serverCpuPct: number;
  loadavg1: number;
}

export interface SoakEvent {
  t: number;
  what: string;
}

export interface SetupResult {
  setup: SoakSetup;
  slot: number;
  points: SoakPoint[];
  events: SoakEvent[];
  /** Streams the servers counted before any client. */
  openBefore: number;
  /** Streams the servers counted once every client had gone. */
  openAfter: number;
  /** The first sample after the clients left (after a GC). */
  afterClose: SoakServerSample[];
  outcome: PublishOutcome | undefined;
  sequences: SequenceCheck | undefined;
  /** The clients' counters once every stream had caught up (before they hung up). */
  finalCounts: ClientCounts | undefined;
  drainMs: number;
  error?: string;
}

export interface SoakRun {
  plan: SoakPlan;
  schedule: string[][];
  results: SetupResult[];
  redis?: string;
  meta: { date: string; durationS: number; loadStart: number[]; loadEnd: number[]; args: string[] };
}

class Running {
  readonly servers: Array<{ child: Child<FromSoakServer>; port: number }> = [];
  readonly clients: Array<Child<FromSoakClient>> = [];
  readonly points: SoakPoint[] = [];
  readonly events: SoakEvent[] = [];
  last: { at: number; events: number; clientCpuUs: number; serverCpuUs: number } | undefined;
  constructor(
    readonly setup: SoakSetup,
    readonly slot: number,
  ) {}

  get crashed(): boolean {
    return [...this.servers.map((s) => s.child), ...this.clients].some((c) => !c.alive);
  }
}

/**
 * `--soak [--quick] [--minutes=N] [--parallel=N] [--render]`. At full size without `--parallel`,
 * a pilot (two set-ups at a time, short slots) comes first, and the soak runs two at a time only
 * if the pilot shows that this fits the machine (see `twoAtATimeFits`).
 */
export async function soakBench(argv: string[], log: (line: string) => void): Promise<boolean> {
  const quick = argv.includes('--quick');
  if (argv.includes('--render')) return rerender(quick, log);
  const minutesArg = argv.find((a) => a.startsWith('--minutes='));
  const parallelArg = argv.find((a) => a.startsWith('--parallel='));
  const minutes = minutesArg ? Number(minutesArg.slice('--minutes='.length)) : undefined;
  let parallel = parallelArg ? Number(parallelArg.slice('--parallel='.length)) : 2;
  if (minutes !== undefined && !(minutes > 0))
    throw new Error('--minutes= takes a positive number');
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new Error('--parallel= takes a positive integer');
  let correct = true;
  if (!quick && !parallelArg) {
    const pilot = await measureRun(soakPlan('pilot', undefined, 2), argv, log);
    correct = await report(pilot, log);
    const fit = twoAtATimeFits(pilot);
    for (const reason of fit.reasons) log(`pilot: ${reason}`);
    parallel = fit.fits ? 2 : 1;
    log(`pilot: ${fit.fits ? 'two set-ups at a time fit' : 'one set-up at a time'}`);
  }
  const run = await measureRun(soakPlan(quick ? 'quick' : 'full', minutes, parallel), argv, log);
  return (await report(run, log)) && correct;
}

async function report(run: SoakRun, log: (line: string) => void): Promise<boolean> {
  const { written, failures } = await writeSoakReport(run);
  for (const file of written) log(`wrote ${file}`);
  for (const failure of failures) console.error(`  - ${failure}`);
  return failures.length === 0;
}

/** Every slot of `plan`, one after the other, against one redis-server. */
async function measureRun(plan: SoakPlan, argv: string[], log: (line: string) => void) {
  const { parallel } = plan;
  const schedule: SoakSetup[][] = [];
  for (let i = 0; i < SETUPS.length; i += parallel) schedule.push(SETUPS.slice(i, i + parallel));
  const startedAt = Date.now();
  const loadStart = loadavg().map((v) => Math.round(v * 100) / 100);
  log(
    `soak (${plan.name}): ${schedule.length} slots of ${Math.round(plan.slotMs / 1000)} s, ${plan.streams} streams per set-up, ${plan.perSecond} events/s; load ${loadStart.join(' ')}`,
  );
  const needsRedis = SETUPS.some((s) => s.store === 'redis');
  const redis = needsRedis ? await startBenchRedis() : undefined;
  const watchdog = redis ? watchRedis(redis) : undefined;
  if (redis) log(`redis-server ${redis.server.url} (pid ${redis.server.pid}), ${redis.placement}`);
  const results: SetupResult[] = [];
  try {
    for (const [slot, setups] of schedule.entries()) {
      log(`slot ${slot + 1}/${schedule.length}: ${setups.map((s) => s.name).join(', ')}`);
      results.push(...(await runSlot(plan, slot, setups, redis, log)));
    }
  } finally {
    await redis?.server.stop().catch(() => {});
    watchdog?.send({ done: true });
  }
  const run: SoakRun = {
    plan,
    schedule: schedule.map((setups) => setups.map((s) => s.name)),
    results,
    ...(redis
      ? {
          redis: `${redis.placement}; appendonly yes, appendfsync everysec; stopped with SIGTERM mid-slot`,
        }
      : {}),
    meta: {
      date: new Date().toISOString(),
      durationS: Math.round((Date.now() - startedAt) / 1000),
      loadStart,
      loadEnd: loadavg().map((v) => Math.round(v * 100) / 100),
      args: argv,
    },
  };
  return run;
}

/** Writes the reports again from the last runs' JSON (the pilot's too), without measuring. */
async function rerender(quick: boolean, log: (line: string) => void): Promise<boolean> {
  let correct = true;
  for (const name of quick ? (['quick'] as const) : (['pilot', 'full'] as const)) {
    const text = await readFile(soakJson(name), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const { failures: _, ...run } = JSON.parse(text) as SoakRun & { failures: string[] };
    correct = (await report(run, log)) && correct;
  }
  return correct;
}

/** Starts the set-ups of one slot, soaks them side by side, checks them and always cleans up. */
async function runSlot(
  plan: SoakPlan,
  slot: number,
  setups: SoakSetup[],
  redis: BenchRedis | undefined,
  log: (line: string) => void,
): Promise<SetupResult[]> {
  const runs = setups.map((setup) => new Running(setup, slot));
  const results = new Map<Running, SetupResult>();
  const fail = (run: Running, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const result = results.get(run);
    if (result) result.error = result.error ? `${result.error}; ${message}` : message;
    log(`${run.setup.name}: ${message}`);
  };
  for (const run of runs) results.set(run, emptyResult(run));
  try {
    await Promise.all(runs.map((run) => start(plan, run, redis)));
    for (const run of runs) {
      const before = await Promise.all(run.servers.map((s) => serverSample(s.child, true)));
      results.get(run)!.openBefore = before.reduce((n, s) => n + s.open, 0);
    }
    const t0 = Date.now();
    await Promise.all(runs.map((run) => connectClients(plan, run)));
    for (const run of runs) {
      await run.servers[0]!.child.request({ op: 'publish', perSecond: plan.perSecond }, 10_000);
      run.events.push({ t: (Date.now() - t0) / 1000, what: 'publishing' });
    }
    log(`  ${plan.streams} streams connected per set-up in ${Date.now() - t0} ms`);
    await soak(plan, runs, t0, redis, log);
    for (const run of runs) {
      try {
        Object.assign(results.get(run)!, await finish(run));
      } catch (error) {
        fail(run, error);
      }
    }
  } catch (error) {
    for (const run of runs) fail(run, error);
  } finally {
    for (const run of runs) {
      const result = results.get(run)!;
      result.points = run.points;
      result.events = run.events;
      if (run.crashed) fail(run, 'a server or load generator exited early');
      await Promise.all([...run.servers.map((s) => s.child), ...run.clients].map((c) => c.stop()));
    }
  }
  for (const result of results.values()) {
    const s = result.sequences;
    log(
      `  ${result.setup.name}: ${s ? `${s.lost} lost, ${s.duplicated} duplicated, ${s.publishFailures} publishes failed` : 'no sequence check'}; open streams ${result.openBefore} → ${result.openAfter}${result.error ? `; ERROR ${result.error}` : ''}`,
    );
  }
  return [...results.values()];
}

function emptyResult(run: Running): SetupResult {
  return {
    setup: run.setup,
    slot: run.slot,
    points: [],
    events: [],
    openBefore: -1,
    openAfter: -1,
    afterClose: [],
    outcome: undefined,
    sequences: undefined,
    finalCounts: undefined,
    drainMs: 0,
  };
}

async function start(plan: SoakPlan, run: Running, redis: BenchRedis | undefined) {
  const redisKey = `sse-bench:soak:${run.setup.adapter}:${Date.now()}`;
  for (let i = 0; i < run.setup.servers; i += 1) {
    const config: SoakServerConfig = {
      adapter: run.setup.adapter,
      store: run.setup.store,
      payloadBytes: plan.payloadBytes,
      lifetimeMs: plan.slotMs + 5 * 60_000,
      ...(run.setup.store === 'redis' ? { redisUrl: redis?.server.url ?? '', redisKey } : {}),
    };
    const child = new Child<FromSoakServer>(
      `soak-${run.setup.adapter}-${run.setup.store}-${i}`,
      SERVER_SCRIPT,
      [JSON.stringify(config)],
      undefined,
      ['--expose-gc'],
    );
    run.servers.push({ child, port: 0 });
    const ready = await child.next((m) => m.op === 'ready' || m.op === 'fatal', 30_000);
    if (ready.op !== 'ready')
      throw new Error(`server failed: ${ready.op === 'fatal' ? ready.message : ready.op}`);
    run.servers[i]!.port = ready.port;
  }
  for (let i = 0; i < plan.clientsPerSetup; i += 1) {
    const child = new Child<FromSoakClient>(
      `soak-client-${run.setup.name}-${i}`,
      CLIENT_SCRIPT,
      [],
      undefined,
    );
    run.clients.push(child);
    await child.next((m) => m.op === 'ready', 20_000);
  }
}

/** Each load generator dials every server in turn: a stream resumes on another server than its last. */
async function connectClients(plan: SoakPlan, run: Running) {
  const ports = run.servers.map((s) => s.port);
  const share = plan.streams / run.clients.length;
  const replies = await Promise.all(
    run.clients.map((child) =>
      child.request(
        { op: 'connect', ports, count: share, concurrency: plan.rampConcurrency },
        120_000,
      ),
    ),
  );
  const connected = replies.reduce((n, r) => n + (r.op === 'reply' ? (r.connected ?? 0) : 0), 0);
  if (connected < plan.streams)
    throw new Error(`only ${connected}/${plan.streams} streams connected`);
}

async function serverSample(child: Child<FromSoakServer>, gc: boolean): Promise<SoakServerSample> {
  const reply = await child.request({ op: 'sample', gc }, 30_000);
  if (reply.op !== 'reply' || !reply.sample) throw new Error('no server sample');
  return reply.sample;
}

async function clientCounts(run: Running): Promise<ClientCounts> {
  const replies = await Promise.all(run.clients.map((c) => c.request({ op: 'counts' }, 20_000)));
  const all = replies.flatMap((r) => (r.op === 'reply' && r.counts ? [r.counts] : []));
  const sum = (name: keyof ClientCounts) => all.reduce((n, c) => n + c[name], 0);
  return {
    open: sum('open'),
    reconnecting: sum('reconnecting'),
    events: sum('events'),
    reconnects: sum('reconnects'),
    reconnectFailures: sum('reconnectFailures'),
    serverCloses: sum('serverCloses'),
    duplicates: sum('duplicates'),
    skipped: sum('skipped'),
    replayGaps: sum('replayGaps'),
    minLastSeq: Math.min(...all.map((c) => c.minLastSeq)),
    cpuUs: sum('cpuUs'),
  };
}

async function samplePoint(run: Running, t0: number, gc: boolean) {
  const servers = await Promise.all(run.servers.map((s) => serverSample(s.child, gc)));
  const clients = await clientCounts(run);
  const at = Date.now();
  const serverCpuUs = servers.reduce((n, s) => n + s.cpuUs, 0);
  const last = run.last;
  const seconds = last ? (at - last.at) / 1000 : 0;
  run.points.push({
    t: Math.round((at - t0) / 100) / 10,
    servers,
    clients,
    deliveredPerSec: last && seconds > 0 ? Math.round((clients.events - last.events) / seconds) : 0,
    clientCpuPct:
      last && seconds > 0 ? Math.round((clients.cpuUs - last.clientCpuUs) / seconds / 1e4) : 0,
    serverCpuPct:
      last && seconds > 0 ? Math.round((serverCpuUs - last.serverCpuUs) / seconds / 1e4) : 0,
    loadavg1: Math.round(loadavg()[0]! * 100) / 100,
  });
  run.last = { at, events: clients.events, clientCpuUs: clients.cpuUs, serverCpuUs };
}

/** The slot's timeline: samples, drop cycles and the Redis restart, until `plan.slotMs`. */
async function soak(
  plan: SoakPlan,
  runs: Running[],
  t0: number,
  redis: BenchRedis | undefined,
  log: (line: string) => void,
) {
  const withRedis = runs.filter((r) => r.setup.store === 'redis');
  let nextSample = 0;
  let samples = 0;
  let cycle = 0;
  let nextDrop = plan.dropEveryMs;
  let redisStop = withRedis.length && redis ? plan.redisStopAtMs : Number.POSITIVE_INFINITY;
  let redisRestart: Promise<unknown> | undefined;
  while (Date.now() - t0 < plan.slotMs) {
    if (runs.some((r) => r.crashed)) throw new Error('a server or load generator exited');
    const elapsed = Date.now() - t0;
    if (elapsed >= nextSample) {
      const gc = samples % plan.gcEvery === 0;
      samples += 1;
      await Promise.all(runs.map((run) => samplePoint(run, t0, gc)));
      nextSample += plan.sampleEveryMs;
    }
    if (elapsed >= nextDrop && nextDrop <= plan.slotMs - plan.dropEveryMs / 2) {
      for (const run of runs) {
        const replies = await Promise.all(
          run.clients.map((c) => c.request({ op: 'drop', cycle, every: plan.dropOneIn }, 10_000)),
        );
        const dropped = replies.reduce((n, r) => n + (r.op === 'reply' ? (r.dropped ?? 0) : 0), 0);
        run.events.push({ t: elapsed / 1000, what: `drop ${dropped}` });
      }
      cycle += 1;
      nextDrop += plan.dropEveryMs;
    }
    if (elapsed >= redisStop && redis) {
      redisStop = Number.POSITIVE_INFINITY;
      redisRestart = restartRedis(redis, plan.redisDownMs, (what) => {
        for (const run of withRedis) run.events.push({ t: (Date.now() - t0) / 1000, what });
        log(`  ${what}`);
      }).catch((error: unknown) => error);
    }
    await sleep(Math.max(10, Math.min(nextSample, nextDrop, redisStop) - (Date.now() - t0)));
  }
  const restartError = await redisRestart;
  if (restartError) throw restartError;
}

let watchedRedis: ChildProcess | undefined;

/** A process that kills redis-server should this one die without stopping it. */
function watchRedis(redis: BenchRedis): ChildProcess {
  const watchdog = spawn(process.execPath, [WATCHDOG_SCRIPT], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  watchdog.send({ pid: redis.server.pid, dir: redis.server.dir });
  watchdog.unref();
  watchdog.channel?.unref();
  watchedRedis = watchdog;
  return watchdog;
}

/** Stops Redis gracefully (SIGTERM: it fsyncs its append-only file), waits, starts it again. */
async function restartRedis(redis: BenchRedis, downMs: number, note: (what: string) => void) {
  const pid = redis.server.pid;
  if (pid === undefined) throw new Error('redis-server has no pid');
  process.kill(pid, 'SIGTERM');
  note('redis stopped (SIGTERM)');
  await sleep(downMs);
  for (let waited = 0; ; waited += 100) {
    try {
      await redis.server.restart();
      break;
    } catch (error) {
      if (waited > 15_000) throw error;
      await sleep(100);
    }
  }
  if (redis.placement.startsWith('on CPU') && redis.server.pid !== undefined) {
    const cpu = /CPU(\d+)/.exec(redis.placement)?.[1] ?? '0';
    spawnSync('taskset', ['-a', '-c', '-p', cpu, String(redis.server.pid)]);
  }
  watchedRedis?.send({ pid: redis.server.pid, dir: redis.server.dir });
  note('redis started again');
}

/** Stops publishing, lets every stream catch up, checks every sequence, then hangs up every client. */
async function finish(run: Running): Promise<Partial<SetupResult>> {
  const reply = await run.servers[0]!.child.request({ op: 'stop-publishing' }, 90_000);
  const outcome = reply.op === 'reply' ? reply.outcome : undefined;
  if (!outcome) throw new Error('no publish outcome');
  const failed = new Set(outcome.failedSeqs);
  let target = outcome.lastSeq;
  while (target > 0 && failed.has(target)) target -= 1;
  const drainStart = Date.now();
  for (;;) {
    const counts = await clientCounts(run);
    if (
      (counts.minLastSeq >= target && counts.reconnecting === 0) ||
      Date.now() - drainStart > DRAIN_TIMEOUT_MS
    )
      break;
    await sleep(200);
  }
  const drainMs = Date.now() - drainStart;
  const replies = await Promise.all(
    run.clients.map((c) => c.request({ op: 'verify', lastSeq: target }, 60_000)),
  );
  const verdicts = replies.flatMap((r): ClientVerdict[] =>
    r.op === 'reply' && r.verdict ? [r.verdict] : [],
  );
  const sequences = checkSequences(verdicts, outcome, target);
  const finalCounts = await clientCounts(run);
  await Promise.all(run.clients.map((c) => c.request({ op: 'close' }, 60_000)));
  let afterClose: SoakServerSample[] = [];
  const closeStart = Date.now();
  for (;;) {
    afterClose = await Promise.all(run.servers.map((s) => serverSample(s.child, true)));
    if (afterClose.every((s) => s.open === 0) || Date.now() - closeStart > CLOSE_TIMEOUT_MS) break;
    await sleep(250);
  }
  return {
    outcome,
    sequences,
    finalCounts,
    drainMs,
    afterClose,
    openAfter: afterClose.reduce((n, s) => n + s.open, 0),
  };
}
