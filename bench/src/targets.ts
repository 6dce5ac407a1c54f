/** The targets of the issue as data, checked against one run. */
import { ADAPTERS, type Plan } from './plan.js';
import type { Adapter } from './protocol.js';
import { n } from './report/format.js';
import {
  addedP99Ms,
  type CrossNodeResults,
  type Measurement,
  type Results,
  type ScenarioResults,
} from './results.js';

/** One target of the issue, checked on one adapter, from one run. */
export interface TargetCheck {
  id: string;
  target: string;
  adapter: Adapter;
  scenario: string;
  value: number | null;
  limit: number;
  unit: string;
  /** true: met; false: missed; null: not measured. */
  met: boolean | null;
  /** How far off, in words ("1.23x over", "+0.4 KiB over"…). */
  margin: string;
}

/** The scenarios the targets and charts read: the largest of each kind in the plan. */
export function largest(plan: Plan) {
  const fanoutN = Math.max(...plan.fanout.map((f) => f.n));
  const fanoutSmallN = Math.min(...plan.fanout.map((f) => f.n));
  const idleN = Math.max(...plan.idle);
  const pollN = Math.max(...plan.poll.n);
  const crossN = plan.crossnode.sizes[0]?.n ?? 1000; // the cross-node target's size: the first
  return {
    idle: `idle-${idleN}`,
    idleN,
    fanout: `fanout-${fanoutN}-64B`,
    fanoutSmall: `fanout-${fanoutSmallN}-64B`,
    latency: `latency-${fanoutN}`,
    fanoutN,
    poll: `poll-${pollN}`,
    pollN,
    crossnode: `crossnode-${crossN}`,
    crossN,
  };
}
type Largest = ReturnType<typeof largest>;

export const CROSS_NODE_ADDED_P99_MS = 5;

type M = Measurement | undefined;
type Field = (m: Measurement) => number | null;
const ok = (m: M): m is Measurement => m !== undefined && m.error === undefined;
/** a / b of one field, when both were measured cleanly. */
const over = (a: M, b: M, f: Field) =>
  ok(a) && ok(b) && f(a) !== null && f(b) ? f(a)! / f(b)! : null;
const minus = (a: M, b: M, f: Field) =>
  ok(a) && ok(b) && f(a) !== null && f(b) !== null ? f(a)! - f(b)! : null;
const cpu: Field = (m) => m.cpuUsPerEvent;
const mem: Field = (m) => m.memPerConnKB;
const settledMem: Field = (m) => m.settledMemPerConnKB ?? null;
/** Runs before the settled sample lack it. */
const settledMeasured = (c: Context) => c.own.ours?.settledMemPerConnKB != null;

interface Context {
  big: Largest;
  /** This adapter's results in the target's scenario, and another adapter's. */
  own: ScenarioResults;
  of: (adapter: Adapter) => ScenarioResults;
  /** The cross-node results in the target's scenario. */
  cross: CrossNodeResults[string];
}

interface Target {
  id: string;
  target: (big: Largest, plan: Plan) => string;
  scenario: keyof Largest;
  /** Checked on each adapter (default), or on one. */
  adapter?: Adapter;
  value: (c: Context) => number | null;
  /** Checked only when this holds (a set-up that older runs lack). */
  only?: (c: Context) => boolean;
  rule: {
    limit: number;
    unit: string;
    better: 'lower' | 'higher';
    kind: 'ratio' | 'delta' | 'abs';
  };
}

/** CPU per delivered event of ours over the adapter's own raw baseline, at most `limit` times. */
const cpuOverOwnRaw = (
  id: string,
  text: string,
  scenario: 'fanout' | 'fanoutSmall',
  limit: number,
  adapter?: Adapter,
): Target => ({
  id,
  target: () => text,
  scenario,
  ...(adapter === undefined ? {} : { adapter }),
  value: (c) => over(c.own.ours, c.own.raw, cpu),
  rule: { limit, unit: 'x', better: 'lower', kind: 'ratio' },
});
const UWS_CPU = 'uWS CPU per delivered event at most 1.10x raw corked uWS';
const NODE_BELOW_RAW =
  'node:http at most 0.75x the CPU per delivered event of a raw res.write loop';

/**
 * A target on memory per idle stream, checked on the first idle sample and again on the settled
 * one (`<id>-settled`, in runs that have it).
 */
const memoryTargets = (
  id: string,
  text: string,
  adapter: Adapter | undefined,
  value: (c: Context, field: Field) => number | null,
  rule: Target['rule'],
): Target[] => {
  const own = adapter === undefined ? {} : { adapter };
  return [
    { id, target: () => text, scenario: 'idle', ...own, value: (c) => value(c, mem), rule },
    {
      id: `${id}-settled`,
      target: () => `${text}, settled`,
      scenario: 'idle',
      ...own,
      only: settledMeasured,
      value: (c) => value(c, settledMem),
      rule,
    },
  ];
};

const crossTarget = (over: string, vs: string) => (big: Largest) =>
  `fan-out through Redis ${over} adds at most ${CROSS_NODE_ADDED_P99_MS} ms to p99 at ${n(big.crossN)} clients (against ${vs} in memory, same run, median of rounds)`;

export const TARGETS: Target[] = [
  cpuOverOwnRaw(
    'cpu-vs-raw',
    'CPU per delivered event within 1.10x of the raw baseline',
    'fanout',
    1.1,
  ),
  ...memoryTargets(
    'mem-vs-raw',
    'memory per idle connection within +1 KiB of the raw baseline',
    undefined,
    (c, field) => minus(c.own.ours, c.own.raw, field),
    { limit: 1, unit: 'KiB', better: 'lower', kind: 'delta' },
  ),
  {
    id: 'hono-vs-node-raw',
    target: () => 'Hono adapter on @hono/node-server within 1.5x of raw node:http CPU per event',
    scenario: 'fanout',
    adapter: 'hono',
    value: (c) => over(c.own.ours, c.of('node-http').raw, cpu),
    rule: { limit: 1.5, unit: 'x', better: 'lower', kind: 'ratio' },
  },
  {
    id: 'broadcast-vs-better-sse',
    target: () => 'broadcast at least 1.5x less CPU per delivered event than better-sse',
    scenario: 'fanout',
    adapter: 'node-http',
    value: (c) => over(c.own.peer, c.own.ours, cpu),
    rule: { limit: 1.5, unit: 'x', better: 'higher', kind: 'ratio' },
  },
  // Issue 15: uWS at uWS's cost at both fan-out sizes, node:http below its raw loop.
  cpuOverOwnRaw('uws-cpu-small', UWS_CPU, 'fanoutSmall', 1.1, 'uws'),
  cpuOverOwnRaw('uws-cpu', UWS_CPU, 'fanout', 1.1, 'uws'),
  cpuOverOwnRaw('node-below-raw-small', NODE_BELOW_RAW, 'fanoutSmall', 0.75, 'node-http'),
  cpuOverOwnRaw('node-below-raw', NODE_BELOW_RAW, 'fanout', 0.75, 'node-http'),
  ...memoryTargets(
    'hono-mem-vs-node-raw',
    'Hono on Node at most +1 KiB per idle stream over raw node:http',
    'hono',
    (c, field) => minus(c.own.ours, c.of('node-http').raw, field),
    { limit: 1, unit: 'KiB', better: 'lower', kind: 'delta' },
  ),
  {
    id: 'held-streams',
    target: (big) => `${n(big.idleN)} held streams with 100% delivery`,
    scenario: 'idle',
    value: (c) => {
      const m = c.own.ours;
      return m !== undefined && m.error === undefined && m.expected > 0
        ? Math.min(m.connected / c.big.idleN, m.delivered / m.expected) * 100
        : null;
    },
    rule: { limit: 100, unit: '%', better: 'higher', kind: 'abs' },
  },
  ...memoryTargets(
    'uws-mem',
    'uWS at most 2 KiB per connection',
    'uws',
    (c, field) => (ok(c.own.ours) ? field(c.own.ours) : null),
    { limit: 2, unit: 'KiB', better: 'lower', kind: 'abs' },
  ),
  {
    id: 'p99-vs-raw',
    target: (big) =>
      `p99 latency of a broadcast to ${n(big.fanoutN)} clients below the raw baseline's`,
    scenario: 'latency',
    value: (c) => over(c.own.ours, c.own.raw, (m) => m.p99Ms),
    rule: { limit: 1, unit: 'x', better: 'lower', kind: 'ratio' },
  },
  {
    id: 'crossnode-added-p99-one',
    target: crossTarget('on one server', 'that server'),
    scenario: 'crossnode',
    adapter: 'node-http',
    only: (c) => c.cross.redisOne !== undefined,
    value: (c) => addedP99Ms(c.cross.single, c.cross.redisOne),
    rule: { limit: CROSS_NODE_ADDED_P99_MS, unit: 'ms', better: 'lower', kind: 'delta' },
  },
  {
    id: 'crossnode-added-p99',
    target: (big, plan) => crossTarget(`over ${plan.crossnode.nodes} servers`, 'one server')(big),
    scenario: 'crossnode',
    adapter: 'node-http',
    value: (c) => addedP99Ms(c.cross.single, c.cross.redis),
    rule: { limit: CROSS_NODE_ADDED_P99_MS, unit: 'ms', better: 'lower', kind: 'delta' },
  },
];

const fmt = (value: number) => value.toFixed(2);

function marginOf({ kind, unit, limit }: Target['rule'], value: number, met: boolean): string {
  if (kind === 'ratio')
    return met ? `within (${fmt(value)}x)` : `missed: ${fmt(value)}x vs ${fmt(limit)}x`;
  if (kind === 'delta')
    return met
      ? `within (${value >= 0 ? '+' : ''}${fmt(value)} ${unit})`
      : `missed by ${fmt(value - limit)} ${unit}`;
  return met
    ? `met (${fmt(value)} ${unit})`
    : `missed: ${fmt(value)} ${unit} vs ${fmt(limit)} ${unit}`;
}

export function checkTargets(
  results: Results,
  plan: Plan,
  crossnode: CrossNodeResults = {},
): TargetCheck[] {
  const big = largest(plan);
  return TARGETS.flatMap((t) =>
    (t.adapter ? [t.adapter] : ADAPTERS.map((a) => a.adapter)).flatMap((adapter) => {
      const scenario = big[t.scenario] as string;
      const of = (other: Adapter) => results[other]?.[scenario] ?? {};
      const c: Context = { big, own: of(adapter), of, cross: crossnode[scenario] ?? {} };
      if (t.only && !t.only(c)) return [];
      const value = t.value(c);
      const measured = value !== null && Number.isFinite(value);
      const { limit, unit, better } = t.rule;
      const met = measured ? (better === 'lower' ? value <= limit : value >= limit) : null;
      const target = t.target(big, plan);
      const margin = measured ? marginOf(t.rule, value, met!) : 'not measured';
      return [{ id: t.id, target, adapter, scenario, value, limit, unit, met, margin }];
    }),
  );
}
