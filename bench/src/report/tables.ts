/** The tables of the report as data: their columns, and which results make their rows. */
import { ADAPTERS, type Plan } from '../plan.js';
import type { Adapter, Variant } from '../protocol.js';
import {
  addedP99Ms,
  type CrossNodeResults,
  type Measurement,
  type Results,
  type ScenarioResults,
} from '../results.js';
import type { TargetCheck } from '../targets.js';
import { type Column, dash, delivered, n, num, ratio, signed, table } from './format.js';

type M = Measurement | undefined;
/** One adapter in one scenario of a results table; `label` is the scenario without the prefix. */
type Row = { adapter: Adapter; label: string } & Record<Variant, M>;
type Get = (m: Measurement) => number | null;

const VARIANTS = ['ours', 'raw', 'peer'] as const satisfies readonly Variant[];
/** Three columns, one per variant; one column of all three (`ours / raw / peer`); their ratios. */
const each = (headers: string[], cell: (m: M) => string): Column<Row>[] =>
  VARIANTS.map((v, i) => [headers[i]!, (r) => cell(r[v])]);
const joined = (header: string, cell: (m: M) => string): Column<Row> => [
  header,
  (r) => VARIANTS.map((v) => cell(r[v])).join(' / '),
];
const ratios = (headers: [string, string], get: Get): Column<Row>[] => [
  [headers[0], (r) => ratio(r.ours && get(r.ours), r.raw && get(r.raw))],
  [headers[1], (r) => ratio(r.ours && get(r.ours), r.peer && get(r.peer))],
];
const difference = (a: number | null | undefined, b: number | null | undefined) =>
  a != null && b != null ? signed(a - b) : dash;
function figure(get: Get, digits = 2) {
  return (m: M) => num(m && get(m), digits);
}
const adapter: Column<Row> = ['adapter', (r) => r.adapter];
const label = (header: string): Column<Row> => [header, (r) => r.label];
const deliveredOurs: Column<Row> = ['delivered (ours)', (r) => delivered(r.ours)];
/** The 1-minute load average when each variant's figures were taken. */
const loads = (r: Row) => VARIANTS.flatMap((v) => r[v]?.extra.load1 ?? []);
const load: Column<Row> = [
  'load',
  (r) =>
    loads(r)
      .map((l) => l.toFixed(1))
      .join(' / ') || dash,
];

/** V8's young generation at the idle sample, and (in brackets) at the settled one. */
const youngGeneration = (m: M) =>
  m ? `${num(m.extra.youngGenMiB, 1)} (${num(m.extra.settledYoungGenMiB, 1)})` : dash;

const cpu: Get = (m) => m.cpuUsPerEvent;
const p99: Get = (m) => m.p99Ms;
/** Figures of one measurement, `a / b / c`. */
const slashed = (keys: Array<keyof Measurement>, digits: number) => (m: M) =>
  m ? keys.map((k) => num(m[k] as number | null, digits)).join(' / ') : dash;
const ms = slashed(['p50Ms', 'p99Ms', 'p999Ms'], 1);
const streams = slashed(['connected', 'rejected', 'errors'], 0);
const accepted = (m: M) => (m?.error && m.connected === 0 ? 'failed' : streams(m));
const connectMs = slashed(['connectP50Ms', 'connectP99Ms', 'connectWallMs'], 0);

/** `note`: the key of a section of the dated notes to link under the table, if they have one. */
type ResultTable = { title: (plan: Plan) => string; prefix: string; columns: Column<Row>[] };
export const RESULT_TABLES: Array<ResultTable & { note?: string }> = [
  {
    title: () => 'Fan-out: server CPU µs per delivered event',
    prefix: 'fanout-',
    columns: [
      adapter,
      label('N-payload'),
      ...each(['ours', 'raw', 'peer'], figure(cpu)),
      ...ratios(['ours/raw', 'ours/peer'], cpu),
      joined('p99 ms ours / raw / peer', figure(p99, 1)),
      deliveredOurs,
      ['clients CPU', (r) => `${num(r.ours?.clientCpuPct, 0)}%`],
      load,
    ],
  },
  {
    title: (plan) => `Latency: ${plan.latency.rate} events/s, ms from publish to receipt`,
    prefix: 'latency-',
    columns: [
      adapter,
      label('N'),
      ...each(['ours p50 / p99 / p99.9', 'raw p50 / p99 / p99.9', 'peer p50 / p99 / p99.9'], ms),
      ...ratios(['p99 ours/raw', 'p99 ours/peer'], p99),
      ['ours CPU µs/event', (r) => figure(cpu)(r.ours)],
      deliveredOurs,
      load,
    ],
  },
  {
    title: (plan) =>
      `Idle hold: memory per connection (KiB RSS after forced GC, ${plan.settleMs / 1000} s after connecting; settled: ${plan.settledIdleMs / 1000} s later, at the last level)`,
    prefix: 'idle-',
    columns: [
      adapter,
      label('N'),
      ...each(
        ['ours', 'raw', 'peer'],
        figure((m) => m.memPerConnKB),
      ),
      ['ours − raw', (r) => difference(r.ours?.memPerConnKB, r.raw?.memPerConnKB)],
      joined(
        'settled: ours / raw / peer',
        figure((m) => m.settledMemPerConnKB ?? null),
      ),
      [
        'settled ours − raw',
        (r) => difference(r.ours?.settledMemPerConnKB, r.raw?.settledMemPerConnKB),
      ],
      joined(
        'heap KiB ours / raw / peer',
        figure((m) => m.heapPerConnKB),
      ),
      joined('young generation MiB ours / raw / peer (settled)', youngGeneration),
      [
        'streams (ours)',
        (r) => (r.ours ? `${n(r.ours.connected)} held, ${r.ours.dropped} dropped` : dash),
      ],
      deliveredOurs,
      load,
    ],
  },
  {
    title: () => 'Connect storm',
    prefix: 'storm-',
    columns: [
      adapter,
      [
        'maxConnections',
        (r) => {
          const max = r.ours?.extra.maxConnections ?? r.raw?.extra.maxConnections;
          return `${r.label} (max ${max !== undefined ? n(max) : dash})`;
        },
      ],
      ...each(['ours: streams / 503 / errors', 'raw', 'peer'], accepted),
      ...each(['ours connect ms p50 / p99 / all', 'raw', 'peer'], connectMs),
      deliveredOurs,
      load,
    ],
  },
  {
    title: () => 'Polling: server CPU µs per event, each stream on its own timer',
    prefix: 'poll-',
    columns: [
      adapter,
      label('N'),
      ...each(['ours', 'raw', 'peer'], figure(cpu)),
      ...ratios(['ours/raw', 'ours/peer'], cpu),
      joined('p99 ms ours / raw / peer', figure(p99, 1)),
      deliveredOurs,
      load,
    ],
    note: 'poll',
  },
];

/** A results table's rows: every adapter's scenarios with its prefix, in the order measured. */
export function resultRows(results: Results, prefix: string): Row[] {
  return ADAPTERS.flatMap(({ adapter }) =>
    Object.entries(results[adapter] ?? {})
      .filter(([scenario]) => scenario.startsWith(prefix))
      .map(([scenario, e]) => ({ adapter, label: scenario.slice(prefix.length), ...e })),
  ) as Row[];
}

export const TARGET_COLUMNS: Column<TargetCheck>[] = [
  ...(['target', 'adapter', 'scenario'] as const).map((k): Column<TargetCheck> => [k, (c) => c[k]]),
  ['measured', (c) => (c.value === null ? dash : `${c.value.toFixed(2)} ${c.unit}`)],
  ['limit', (c) => `${c.limit} ${c.unit}`],
  ['result', (c) => (c.met === null ? 'not measured' : c.met ? 'met' : `**${c.margin}**`)],
];

/**
 * The raw baselines of node:http, Fastify, Koa and Hono run the same write loop: how far apart
 * their CPU per event lands, per fan-out scenario. Empty when fewer than two were measured.
 */
export function noiseTable(results: Results): string | undefined {
  const same: Adapter[] = ['node-http', 'fastify', 'koa', 'hono'];
  type Noise = { label: string; values: Array<number | null>; known: number[] };
  const rows: Noise[] = Object.keys(results['node-http'] ?? {})
    .filter((scenario) => scenario.startsWith('fanout-'))
    .map((scenario) => {
      const values = same.map((a) => results[a]?.[scenario]?.raw?.cpuUsPerEvent ?? null);
      const known = values.filter((v): v is number => v !== null && v > 0);
      return { label: scenario.replace('fanout-', ''), values, known };
    })
    .filter((r) => r.known.length >= 2);
  const columns: Column<Noise>[] = [
    ['fan-out N-payload', (r) => r.label],
    ...same.map((a, i): Column<Noise> => [`${a} raw`, (r) => num(r.values[i])]),
    ['max / min', (r) => `${(Math.max(...r.known) / Math.min(...r.known)).toFixed(2)}x`],
  ];
  return rows.length ? table(columns, rows) : undefined;
}

/**
 * node:http's fan-out against its floor, the least one write per stream per event costs: what the
 * 0.75x target leaves to any server once the kernel has its share. Empty without the floor.
 */
export function floorTable(results: Results): string | undefined {
  type Floor = { label: string } & ScenarioResults;
  const rows: Floor[] = Object.entries(results['node-http'] ?? {})
    .filter(([scenario, entry]) => scenario.startsWith('fanout-') && entry.floor)
    .map(([scenario, entry]) => ({ label: scenario.replace('fanout-', ''), ...entry }));
  const kernel = (m: M) => num(m?.extra.systemUsPerEvent);
  const columns: Column<Floor>[] = [
    ['fan-out N-payload', (r) => r.label],
    [
      'µs per delivery ours / raw / floor',
      (r) => [r.ours, r.raw, r.floor].map(figure(cpu)).join(' / '),
    ],
    ['of which kernel', (r) => [r.ours, r.raw, r.floor].map(kernel).join(' / ')],
    ['ours/raw', (r) => ratio(r.ours && cpu(r.ours), r.raw && cpu(r.raw))],
    ['floor/raw', (r) => ratio(r.floor && cpu(r.floor), r.raw && cpu(r.raw))],
    ['ours/floor', (r) => ratio(r.ours && cpu(r.ours), r.floor && cpu(r.floor))],
  ];
  return rows.length ? table(columns, rows) : undefined;
}

/** The median spread between the lowest and highest round of the fan-out measurements. */
export function roundSpread(results: Results): number {
  const spreads = Object.values(results)
    .flatMap((byScenario) => Object.entries(byScenario ?? {}))
    .filter(([scenario]) => scenario.startsWith('fanout-'))
    .flatMap(([, entry]) => Object.values(entry))
    .map((m) => [m?.extra.cpuUsPerEventMin, m?.extra.cpuUsPerEventMax])
    .filter((pair): pair is [number, number] => !!pair[0] && !!pair[1])
    .map(([lo, hi]) => hi / lo - 1)
    .sort((a, b) => a - b);
  return spreads.length ? spreads[Math.floor(spreads.length / 2)]! : 0;
}

type CrossRow = { label: string; setUp: string; m: M; added: number | null };

const extra = (m: M, name: string) => m?.extra[name];
const timing = (name: string) => (r: CrossRow) => {
  const [p50, p99] = [extra(r.m, `${name}P50Ms`), extra(r.m, `${name}P99Ms`)];
  return p50 === undefined || p99 === undefined ? dash : `${num(p50)} / ${num(p99)}`;
};

export const CROSS_NODE_COLUMNS: Column<CrossRow>[] = [
  ['N', (r) => r.label],
  ['set-up', (r) => r.setUp],
  ['p50 / p99 / p99.9 / max ms', (r) => slashed(['p50Ms', 'p99Ms', 'p999Ms', 'maxMs'], 1)(r.m)],
  [
    'p99 per round ms',
    ({ m }) => {
      const values: string[] = [];
      for (let i = 1; extra(m, `p99Round${i}`) !== undefined; i += 1)
        values.push(num(extra(m, `p99Round${i}`), 1));
      return values.length ? values.join(', ') : dash;
    },
  ],
  ['added p99 ms', (r) => (r.added !== null ? signed(r.added, 1) : dash)],
  ['server CPU µs per delivery', (r) => num(r.m?.cpuUsPerEvent)],
  ['publish → resolved p50 / p99 ms', timing('publish')],
  ['Redis leg p50 / p99 ms', timing('tail')],
  ['fan-out p50 / p99 ms', timing('fanOut')],
  [
    'publishing took s',
    ({ m }) => {
      const { publishWallMs: took, events, rate, rounds = 1 } = m?.extra ?? {};
      if (took === undefined || events === undefined || !rate) return dash;
      // The publisher's wall time runs from the first event to the last: one interval less.
      const planned = (events / rounds - 1) / rate;
      return `${num(took / 1000, 1)} (${num(planned, 1)} planned)`;
    },
  ],
  ['delivered', (r) => delivered(r.m)],
  ['clients CPU', (r) => (r.m ? `${num(r.m.clientCpuPct, 0)}%` : dash)],
  ['load', (r) => num(extra(r.m, 'load1'), 1)],
];

/** Per N, one row per set-up: single, redis on one server (runs from before it lack it), redis. */
export function crossNodeRows(crossnode: CrossNodeResults, nodes: number): CrossRow[] {
  return Object.entries(crossnode).flatMap(([scenario, { single, redisOne, redis }]) => {
    const label = scenario.replace('crossnode-', '');
    return [
      { label, setUp: 'single (1 server, memory)', m: single, added: null },
      ...(redisOne
        ? [{ label, setUp: 'redis (1 server)', m: redisOne, added: addedP99Ms(single, redisOne) }]
        : []),
      { label, setUp: `redis (${nodes} servers)`, m: redis, added: addedP99Ms(single, redis) },
    ];
  });
}
