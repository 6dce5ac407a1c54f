/**
 * `pnpm bench --vs-better-sse`: why two harnesses disagree on how far ahead of better-sse we are.
 *
 * Our report (`pnpm bench`, fan-out) publishes one broadcast per event-loop turn and runs ours,
 * raw node:http and better-sse one after the other. A second harness, written independently,
 * publishes 20 broadcasts back to back in one turn and interleaves its rounds. This runs both
 * set-ups on the same servers, held open together (10,000 streams each, pinned to the server CPU),
 * with the rounds interleaved server by server, and adds better-sse without its per-session
 * serializer and sanitizer, to see what each part costs. Per delivery: server CPU (user + system)
 * over the events the clients counted, median of the rounds; and the bytes of one event on the wire.
 *
 * Writes `bench/results/vs-better-sse.json` and `docs/benchmarks-vs-better-sse.md` (with `--quick`:
 * `bench/results/vs-better-sse-quick.{json,md}`).
 */
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONNECT_SLICES, cpuUs, round, sleep, sliceOf, waitForEvents } from './measure.js';
import { SSE_PATH } from './server/kind.js';
import { ServerUnderTest } from './server-under-test.js';
import { WorkerPool } from './workers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

const SERVERS = [
  { kind: 'node-http-ours', label: 'ours (@sse-middleware/node-http, channel)' },
  { kind: 'node-http-raw', label: 'raw res.write of a string' },
  { kind: 'node-http-peer', label: 'better-sse 0.16.1 (channel.broadcast)' },
  {
    kind: 'node-http-peer-plain',
    label: 'better-sse 0.16.1, serializer String, no sanitizer',
  },
] as const;
type Kind = (typeof SERVERS)[number]['kind'];

interface SetUp {
  name: string;
  describe: string;
  events: number;
  /** 0: one broadcast per event-loop turn; -1: all of a round's broadcasts in one turn. */
  intervalMs: number;
}

const SET_UPS: SetUp[] = [
  {
    name: 'per-turn',
    describe: 'our report: one broadcast per event-loop turn (I/O in between)',
    events: 10,
    intervalMs: 0,
  },
  {
    name: 'burst',
    describe: 'the second harness: 20 broadcasts back to back in one turn',
    events: 20,
    intervalMs: -1,
  },
];

interface Row {
  setUp: string;
  kind: Kind;
  rounds: number[];
  medianUs: number;
  delivered: number;
  expected: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** The bytes of one event as a client of `server` receives them (chunked framing removed). */
function oneEventOnTheWire(server: ServerUnderTest, payload: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${server.child.name}: no event on the wire in 10 s`));
    }, 10_000);
    const req = request({ host: '127.0.0.1', port: server.port, path: SSE_PATH }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        // The event is the block with a data line; a comment or retry line may come first.
        const start = text.search(/(^|\n)(id|event|data):/);
        const end = start >= 0 ? text.indexOf('\n\n', start) : -1;
        if (end < 0) return;
        clearTimeout(timer);
        req.destroy();
        resolve(text.slice(text[start] === '\n' ? start + 1 : start, end + 2));
      });
      // The head is here, so the stream is subscribed: publish the event it will show.
      setTimeout(() => void server.publish(1, 0, payload, 10_000).catch(reject), 100);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function vsBetterSseBench(quick: boolean, log: (line: string) => void) {
  const n = quick ? 1000 : 10_000;
  const rounds = quick ? 1 : 5;
  const payload = 64;
  const perWorker = 5000;
  const workersEach = Math.max(1, Math.ceil(n / perWorker));
  /** Each server's streams on load generators of their own. */
  const pools = new Map<Kind, WorkerPool>();
  const servers = new Map<Kind, ServerUnderTest>();
  const rows: Row[] = [];
  const wire: Record<string, string> = {};
  const failures: string[] = [];
  const loadStart = loadavg()[0] ?? 0;
  try {
    for (const { kind } of SERVERS) {
      const server = await ServerUnderTest.start({
        kind,
        mode: 'broadcast',
        maxConnections: 0,
        pollIntervalMs: 1000,
        payloadBytes: payload,
        store: 'memory',
      });
      servers.set(kind, server);
      wire[kind] = await oneEventOnTheWire(server, payload);
      pools.set(kind, await WorkerPool.start(workersEach, join(here, 'client', 'worker.js')));
    }
    for (let slice = 0; slice < CONNECT_SLICES; slice += 1) {
      for (const [kind, server] of servers) {
        const count = sliceOf(n, CONNECT_SLICES, slice);
        const connected = await pools.get(kind)!.connect(workersEach, {
          port: server.port,
          path: SSE_PATH,
          count,
          concurrency: 200,
          retries: 2,
          timeoutMs: 120_000,
        });
        if (connected.connected < count)
          throw new Error(`${kind}: ${connected.connected}/${count} connected`);
      }
    }
    log(`vs-better-sse: ${servers.size} servers hold ${n} streams each`);
    await sleep(1000);
    // Warm-up, not measured: every server's broadcast path, in both set-ups.
    for (const setUp of SET_UPS) {
      for (const [kind, server] of servers) {
        const pool = pools.get(kind)!;
        await pool.reset();
        await server.publish(setUp.events, setUp.intervalMs, payload, 120_000);
        await waitForEvents(pool, () => server.crashed, n * setUp.events, 60_000);
      }
    }
    for (const setUp of SET_UPS) {
      for (const { kind } of SERVERS) {
        rows.push({ setUp: setUp.name, kind, rounds: [], medianUs: 0, delivered: 0, expected: 0 });
      }
    }
    for (let r = 0; r < rounds; r += 1) {
      for (const setUp of SET_UPS) {
        // Rotated each round, so no server always runs first after a pause.
        const order = SERVERS.map((_, i) => SERVERS[(i + r) % SERVERS.length]!);
        for (const { kind } of order) {
          const server = servers.get(kind)!;
          const pool = pools.get(kind)!;
          await pool.reset();
          const { before } = await server.publish(setUp.events, setUp.intervalMs, payload, 120_000);
          const wait = await waitForEvents(pool, () => server.crashed, n * setUp.events, 120_000);
          const after = await server.sample(false);
          const row = rows.find((x) => x.setUp === setUp.name && x.kind === kind)!;
          row.delivered += wait.counts.events;
          row.expected += n * setUp.events;
          if (wait.counts.events > 0)
            row.rounds.push(round((cpuUs(after) - cpuUs(before)) / wait.counts.events, 3));
        }
      }
    }
    for (const row of rows) {
      row.medianUs = round(median(row.rounds), 3);
      if (row.delivered !== row.expected)
        failures.push(`${row.setUp} ${row.kind}: delivered ${row.delivered}/${row.expected}`);
      log(
        `vs-better-sse: ${row.setUp} ${row.kind}: ${row.medianUs} µs/delivery (${row.rounds.join(', ')})`,
      );
    }
  } finally {
    for (const pool of pools.values()) {
      await pool.close().catch(() => {});
      await pool.stop().catch(() => {});
    }
    for (const server of servers.values()) {
      if (server.crashed) failures.push(`${server.child.name}: server crashed`);
      await server.stop();
    }
  }
  const result = {
    date: new Date().toISOString(),
    command: `pnpm bench --vs-better-sse${quick ? ' --quick' : ''}`,
    node: process.version,
    n,
    rounds,
    payload,
    loadStart: round(loadStart, 2),
    loadEnd: round(loadavg()[0] ?? 0, 2),
    setUps: SET_UPS,
    servers: SERVERS,
    wire,
    rows,
    failures,
  };
  const base = quick ? 'vs-better-sse-quick' : 'vs-better-sse';
  const json = join(repoRoot, 'bench', 'results', `${base}.json`);
  const md = quick
    ? join(repoRoot, 'bench', 'results', `${base}.md`)
    : join(repoRoot, 'docs', 'benchmarks-vs-better-sse.md');
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(md, render(result));
  log(`wrote ${json} and ${md}`);
  return failures.length === 0;
}

export function render(result: {
  date: string;
  command: string;
  node: string;
  n: number;
  rounds: number;
  payload: number;
  loadStart: number;
  loadEnd: number;
  wire: Record<string, string>;
  rows: Row[];
  failures: string[];
}): string {
  const us = (setUp: string, kind: Kind) =>
    result.rows.find((r) => r.setUp === setUp && r.kind === kind)?.medianUs ?? Number.NaN;
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const lines = [
    '# Ours against better-sse, in two set-ups',
    '',
    `Generated by \`${result.command}\` on ${result.date} (Node ${result.node}; load ${result.loadStart} at start, ${result.loadEnd} at end). Do not edit by hand. Method: \`bench/src/vs-better-sse.ts\`.`,
    '',
    `${result.n.toLocaleString('en')} streams on each of four node:http servers, all held at once (opened a tenth at a time, server by server), each server in its own process on CPU0, the load generators on CPU1; ${result.payload} B of data per event; ${result.rounds} rounds, interleaved server by server (rotated each round); server CPU (user + system) per delivered event, median of the rounds.`,
    '',
    '| set-up | ours | raw res.write | better-sse | better-sse, no serializer or sanitizer | better-sse / ours | ours / raw | better-sse / raw |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const setUp of SET_UPS) {
    const ours = us(setUp.name, 'node-http-ours');
    const raw = us(setUp.name, 'node-http-raw');
    const peer = us(setUp.name, 'node-http-peer');
    const plain = us(setUp.name, 'node-http-peer-plain');
    lines.push(
      `| ${setUp.name}: ${setUp.describe} | ${ours} µs | ${raw} µs | ${peer} µs | ${plain} µs | **${x(peer, ours)}** | ${x(ours, raw)} | ${x(peer, raw)} |`,
    );
  }
  const perTurn = (kind: Kind) => us('per-turn', kind);
  const burst = (kind: Kind) => us('burst', kind);
  lines.push(
    '',
    '## Why the two set-ups disagree',
    '',
    `- **One broadcast per turn** costs every server one socket write per delivery: a system call, and on loopback the receiving side's TCP work too. Every server pays that kernel time (raw ${perTurn('node-http-raw')} µs per delivery in all, better-sse ${perTurn('node-http-peer')} µs), so it dominates and squeezes the ratios together (${x(perTurn('node-http-peer'), perTurn('node-http-ours'))}).`,
    `- **Twenty broadcasts in one turn** reach a socket while it is corked (node:http's \`res.write()\` corks until the next tick; ours writes a turn's first event at once and corks the socket from the second until the turn's writes are done), so the twenty leave in one \`writev\` (ours: one write, then one \`writev\` of nineteen). The kernel's share per delivery falls (raw: ${burst('node-http-raw')} µs) and what is left is each library's own work per delivery: better-sse builds every session's event anew (an \`event:\` line, a 36-character id, the data JSON-encoded and sanitised, ${Buffer.byteLength(result.wire['node-http-peer'] ?? '')} B), ours writes one frame made once per broadcast (${Buffer.byteLength(result.wire['node-http-ours'] ?? '')} B): ${x(burst('node-http-peer'), burst('node-http-ours'))}.`,
    `- **Serializer and sanitizer** are a small part of better-sse's cost: without them it takes ${perTurn('node-http-peer-plain')} µs per turn and ${burst('node-http-peer-plain')} µs in a burst. Event names and ids cost bytes, not CPU, where the event is encoded once.`,
    "- **Our report's 2.08x** (docs/benchmarks.md, 2026-11-24) ran the three servers minutes apart in separate processes, and its raw baselines alone spread 1.2–1.8x in that run; interleaved on servers held open together, as here, the per-turn ratio is the one above. Since 2026-12-02 the report's fan-out does the same: every variant's streams held at once, opened a tenth at a time, rounds interleaved. The second harness's 1.42x (20 back-to-back broadcasts) was measured before ours framed a broadcast once and corked its direct writes, so its figure is not this code's; its own source is not in this repository, so whether its 20 went out in one turn is inferred from its description.",
  );
  lines.push('', 'One event as each server writes it (chunked framing removed):', '');
  for (const { kind, label } of SERVERS) {
    const text = result.wire[kind] ?? '';
    lines.push(
      `- ${label}: ${Buffer.byteLength(text)} B: \`${JSON.stringify(text).slice(1, -1)}\``,
    );
  }
  lines.push(
    '',
    'Rounds (µs per delivery):',
    '',
    '| set-up | server | rounds | delivered |',
    '|---|---|---|---|',
  );
  for (const row of result.rows) {
    lines.push(
      `| ${row.setUp} | ${row.kind} | ${row.rounds.join(', ')} | ${row.delivered}/${row.expected} |`,
    );
  }
  if (result.failures.length)
    lines.push('', '**Failures:**', '', ...result.failures.map((f) => `- ${f}`));
  return `${lines.join('\n')}\n`;
}
