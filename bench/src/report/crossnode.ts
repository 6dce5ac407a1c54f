/** The cross-node section of the report: one process in memory against several on one Redis stream. */
import type { Plan } from '../plan.js';
import { addedP99Ms, type Measurement } from '../results.js';
import { dash, delivered, num, table } from './format.js';
import type { ReportInput } from './write.js';

const n = (value: number) => value.toLocaleString('en-US');

export function crossNodeSizes(plan: Plan): string {
  const { nodes, payload, sizes } = plan.crossnode;
  return `${sizes.map((s) => `N = ${n(s.n)}: ${s.rate} events/s for ${s.seconds} s, ${s.rounds} round${s.rounds > 1 ? 's' : ''} of each set-up`).join('; ')} (${payload} B); single: 1 server in memory; redis: 1 server, then ${nodes} servers with N/${nodes} streams each; 5 unmeasured warm-up events first`;
}

export function crossNodeSection(input: ReportInput): string[] {
  const crossnode = input.crossnode;
  if (!crossnode || Object.keys(crossnode.results).length === 0) return [];
  const nodes = input.plan.crossnode.nodes;
  const rows: string[][] = [];
  const label = {
    single: 'single (1 server, memory)',
    redisOne: 'redis (1 server)',
    redis: `redis (${nodes} servers)`,
  };
  for (const [scenario, { single, redisOne, redis }] of Object.entries(crossnode.results)) {
    for (const [name, m] of [
      ['single', single],
      ['redisOne', redisOne],
      ['redis', redis],
    ] as const) {
      if (name === 'redisOne' && !m) continue; // runs from before this set-up existed
      const added = name === 'single' ? null : addedP99Ms(single, m);
      rows.push([
        scenario.replace('crossnode-', ''),
        label[name],
        m
          ? `${num(m.p50Ms, 1)} / ${num(m.p99Ms, 1)} / ${num(m.p999Ms, 1)} / ${num(m.maxMs, 1)}`
          : dash,
        perRound(m),
        added !== null ? `${added >= 0 ? '+' : ''}${added.toFixed(1)}` : dash,
        num(m?.cpuUsPerEvent),
        timing(m, 'publish'),
        timing(m, 'tail'),
        timing(m, 'fanOut'),
        schedule(m),
        delivered(m),
        m ? `${num(m.clientCpuPct, 0)}%` : dash,
        num(m?.extra.load1, 1),
      ]);
    }
  }
  return [
    '### Cross-node: fan-out through Redis against one process',
    '',
    `What a shared Redis store adds to a broadcast. At each N, three set-ups run back to back on the same schedule, each event stamped with \`process.hrtime.bigint()\` by the server that publishes it (CLOCK_MONOTONIC: comparable across the processes of one machine). **single**: one node-http server of ours with the in-memory channel holds all N streams and publishes (the latency scenario's set-up). **redis**: ${nodes} node-http servers, each \`createChannel({ store: createRedisStore({ url, key }) })\` on the same key (a fresh one per N), hold N/${nodes} streams each; events are published on the first server only, so every event goes \`XADD\` → each server's tail (\`XREAD BLOCK\`) → that server's own fan-out, the publisher's included. **redis (1 server)**: one such server holds all N streams: the difference to single is what Redis itself adds (\`XADD\`, the tail's wake-up), the rest of the difference to ${nodes} servers is theirs sharing one core. Every server runs on the same core (CPU0) as the single server does alone, the load generators on CPU1; redis-server: ${crossnode.redis}. Delivery is checked per stream: each must get every event exactly once and in order (a repeated or out-of-order sequence number, a silent stream, a rejected \`channel.publish\` or any shortfall fails the run).`,
    '',
    table(
      [
        'N',
        'set-up',
        'p50 / p99 / p99.9 / max ms',
        'p99 per round ms',
        'added p99 ms',
        'server CPU µs per delivery',
        'publish → resolved p50 / p99 ms',
        'Redis leg p50 / p99 ms',
        'fan-out p50 / p99 ms',
        'publishing took s',
        'delivered',
        'clients CPU',
        'load',
      ],
      rows,
    ),
    '',
    `Each N runs its rounds alternately (single, redis 1 server, redis ${nodes} servers, single…), each in fresh server processes; the percentiles pool every round's deliveries, the server timings are the median round's. \`added p99\` is the median over rounds of that set-up's p99 − single p99 of the same round (the machine is shared: a burst of someone else's load spoils a round, and the pooled percentiles with it, but not the median). Where the time goes, measured inside the servers: \`publish → resolved\` is \`channel.publish()\` until its promise resolves on the publishing server (in memory: the store append and the fan-out loop, before the deferred socket writes; with Redis: the \`XADD\` round trip, but its reply is read only once the publisher's own tail has fanned the event out, so it includes that too); \`Redis leg\` is from the publisher's stamp until a server's tail hands the event to its channel (\`XADD\`, Redis, the \`XREAD BLOCK\` wake-up, parsing the entry), and \`fan-out\` from there until that server has written the event to all its streams (node:http does the socket writes on the next tick), both for the slowest of the ${nodes} servers. Server CPU is the ${nodes} servers' together, per delivered event. \`publishing took\` longer than planned means the servers could not keep the rate (the fan-out holds the publisher's event loop), and the latency then includes that backlog.`,
    '',
  ];
}

function perRound(m: Measurement | undefined): string {
  const values: string[] = [];
  for (let i = 1; m?.extra[`p99Round${i}`] !== undefined; i += 1)
    values.push(num(m.extra[`p99Round${i}`], 1));
  return values.length ? values.join(', ') : dash;
}

/** How long the publisher took to publish the schedule, against the schedule's own length. */
function schedule(m: Measurement | undefined): string {
  const took = m?.extra.publishWallMs;
  const events = m?.extra.events;
  const rate = m?.extra.rate;
  const rounds = m?.extra.rounds ?? 1;
  if (took === undefined || events === undefined || !rate) return dash;
  // The publisher's wall time runs from the first event to the last: one interval less.
  return `${num(took / 1000, 1)} (${num((events / rounds - 1) / rate, 1)} planned)`;
}

function timing(m: Measurement | undefined, name: string): string {
  const p50 = m?.extra[`${name}P50Ms`];
  const p99 = m?.extra[`${name}P99Ms`];
  return p50 === undefined || p99 === undefined ? dash : `${num(p50)} / ${num(p99)}`;
}
