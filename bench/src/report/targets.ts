import type { Plan } from '../plan.js';
import { ADAPTERS } from '../plan.js';
import type { Adapter } from '../protocol.js';
import { addedP99Ms, type CrossNodeResults, type Measurement, type Results } from '../results.js';

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

const fmt = (value: number, digits = 2) => value.toFixed(digits);

export function largest(plan: Plan) {
  const fanoutN = Math.max(...plan.fanout.map((f) => f.n));
  return {
    idle: `idle-${Math.max(...plan.idle)}`,
    idleN: Math.max(...plan.idle),
    fanout: `fanout-${fanoutN}-64B`,
    latency: `latency-${fanoutN}`,
    fanoutN,
  };
}

function get(results: Results, adapter: Adapter, scenario: string) {
  return results[adapter]?.[scenario] ?? {};
}

function ok(m: Measurement | undefined): m is Measurement {
  return m !== undefined && m.error === undefined;
}

/** The cross-node target's size: the plan's first (1,000 clients in the full suite). */
export const crossNodeTargetN = (plan: Plan) => plan.crossnode.sizes[0]?.n ?? 1000;
export const CROSS_NODE_ADDED_P99_MS = 5;

export function checkTargets(
  results: Results,
  plan: Plan,
  crossnode: CrossNodeResults = {},
): TargetCheck[] {
  const big = largest(plan);
  const checks: TargetCheck[] = [];
  const add = (
    check: Omit<TargetCheck, 'met' | 'margin'>,
    better: 'lower' | 'higher',
    kind: 'ratio' | 'delta' | 'abs',
  ) => {
    let met: boolean | null = null;
    let margin = 'not measured';
    if (check.value !== null && Number.isFinite(check.value)) {
      met = better === 'lower' ? check.value <= check.limit : check.value >= check.limit;
      if (kind === 'ratio') {
        margin = met
          ? `within (${fmt(check.value)}x)`
          : `missed: ${fmt(check.value)}x vs ${fmt(check.limit)}x`;
      } else if (kind === 'delta') {
        margin = met
          ? `within (${check.value >= 0 ? '+' : ''}${fmt(check.value)} ${check.unit})`
          : `missed by ${fmt(check.value - check.limit)} ${check.unit}`;
      } else {
        margin = met
          ? `met (${fmt(check.value)} ${check.unit})`
          : `missed: ${fmt(check.value)} ${check.unit} vs ${fmt(check.limit)} ${check.unit}`;
      }
    }
    checks.push({ ...check, met, margin });
  };

  for (const { adapter } of ADAPTERS) {
    const fan = get(results, adapter, big.fanout);
    add(
      {
        id: 'cpu-vs-raw',
        target: 'CPU per delivered event within 1.10x of the raw baseline',
        adapter,
        scenario: big.fanout,
        value:
          ok(fan.ours) && ok(fan.raw) && fan.ours.cpuUsPerEvent !== null && fan.raw.cpuUsPerEvent
            ? fan.ours.cpuUsPerEvent / fan.raw.cpuUsPerEvent
            : null,
        limit: 1.1,
        unit: 'x',
      },
      'lower',
      'ratio',
    );
  }
  for (const { adapter } of ADAPTERS) {
    const idle = get(results, adapter, big.idle);
    add(
      {
        id: 'mem-vs-raw',
        target: 'memory per idle connection within +1 KiB of the raw baseline',
        adapter,
        scenario: big.idle,
        value:
          ok(idle.ours) &&
          ok(idle.raw) &&
          idle.ours.memPerConnKB !== null &&
          idle.raw.memPerConnKB !== null
            ? idle.ours.memPerConnKB - idle.raw.memPerConnKB
            : null,
        limit: 1,
        unit: 'KiB',
      },
      'lower',
      'delta',
    );
  }
  const honoFan = get(results, 'hono', big.fanout).ours;
  const nodeRaw = get(results, 'node-http', big.fanout).raw;
  add(
    {
      id: 'hono-vs-node-raw',
      target: 'Hono adapter on @hono/node-server within 1.5x of raw node:http CPU per event',
      adapter: 'hono',
      scenario: big.fanout,
      value:
        ok(honoFan) && ok(nodeRaw) && honoFan.cpuUsPerEvent !== null && nodeRaw.cpuUsPerEvent
          ? honoFan.cpuUsPerEvent / nodeRaw.cpuUsPerEvent
          : null,
      limit: 1.5,
      unit: 'x',
    },
    'lower',
    'ratio',
  );
  const nodeFan = get(results, 'node-http', big.fanout);
  add(
    {
      id: 'broadcast-vs-better-sse',
      target: 'broadcast at least 1.5x less CPU per delivered event than better-sse',
      adapter: 'node-http',
      scenario: big.fanout,
      value:
        ok(nodeFan.ours) &&
        ok(nodeFan.peer) &&
        nodeFan.ours.cpuUsPerEvent &&
        nodeFan.peer.cpuUsPerEvent !== null
          ? nodeFan.peer.cpuUsPerEvent / nodeFan.ours.cpuUsPerEvent
          : null,
      limit: 1.5,
      unit: 'x',
    },
    'higher',
    'ratio',
  );
  for (const { adapter } of ADAPTERS) {
    const idle = get(results, adapter, big.idle).ours;
    const complete =
      idle !== undefined && idle.error === undefined && idle.expected > 0
        ? Math.min(idle.connected / big.idleN, idle.delivered / idle.expected) * 100
        : null;
    add(
      {
        id: 'held-streams',
        target: `${big.idleN.toLocaleString('en-US')} held streams with 100% delivery`,
        adapter,
        scenario: big.idle,
        value: complete,
        limit: 100,
        unit: '%',
      },
      'higher',
      'abs',
    );
  }
  const uws = get(results, 'uws', big.idle).ours;
  add(
    {
      id: 'uws-mem',
      target: 'uWS at most 2 KiB per connection',
      adapter: 'uws',
      scenario: big.idle,
      value: ok(uws) ? uws.memPerConnKB : null,
      limit: 2,
      unit: 'KiB',
    },
    'lower',
    'abs',
  );
  for (const { adapter } of ADAPTERS) {
    const lat = get(results, adapter, big.latency);
    add(
      {
        id: 'p99-vs-raw',
        target: `p99 latency of a broadcast to ${big.fanoutN.toLocaleString('en-US')} clients below the raw baseline's`,
        adapter,
        scenario: big.latency,
        value:
          ok(lat.ours) && ok(lat.raw) && lat.ours.p99Ms !== null && lat.raw.p99Ms
            ? lat.ours.p99Ms / lat.raw.p99Ms
            : null,
        limit: 1,
        unit: 'x',
      },
      'lower',
      'ratio',
    );
  }
  const crossN = crossNodeTargetN(plan);
  const cross = crossnode[`crossnode-${crossN}`] ?? {};
  const clients = crossN.toLocaleString('en-US');
  if (cross.redisOne) {
    add(
      {
        id: 'crossnode-added-p99-one',
        target: `fan-out through Redis on one server adds at most ${CROSS_NODE_ADDED_P99_MS} ms to p99 at ${clients} clients (against that server in memory, same run, median of rounds)`,
        adapter: 'node-http',
        scenario: `crossnode-${crossN}`,
        value: addedP99Ms(cross.single, cross.redisOne),
        limit: CROSS_NODE_ADDED_P99_MS,
        unit: 'ms',
      },
      'lower',
      'delta',
    );
  }
  add(
    {
      id: 'crossnode-added-p99',
      target: `fan-out through Redis over ${plan.crossnode.nodes} servers adds at most ${CROSS_NODE_ADDED_P99_MS} ms to p99 at ${clients} clients (against one server in memory, same run, median of rounds)`,
      adapter: 'node-http',
      scenario: `crossnode-${crossN}`,
      value: addedP99Ms(cross.single, cross.redis),
      limit: CROSS_NODE_ADDED_P99_MS,
      unit: 'ms',
    },
    'lower',
    'delta',
  );
  return checks;
}
