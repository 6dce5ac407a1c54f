/** docs/benchmarks.md: the figures of one run poured into page.md; prose lives in Markdown only. */
import { posix } from 'node:path';
import { ADAPTERS, type Plan } from '../plan.js';
import type { Measurement, Results } from '../results.js';
import type { ReportInput } from '../saved.js';
import { headline, loadScaleResult } from '../scale/result.js';
import { largest, type TargetCheck } from '../targets.js';
import { dash, n, num, pairs, table } from './format.js';
import { barChart } from './svg.js';
import * as tables from './tables.js';

/** The dated notes (docs/benchmarks-notes-<date>.md): a section per key its heading names. */
type Section = Record<'title' | 'slug', string>;
export type Notes = { href: string; date: string; sections: Map<string, Section> };

/** page.md, and paths as the report shows them: the JSON's from the repository root, the rest relative. */
export type Links = { page: string; json: string; readme: string; notes: Notes | undefined };

type Big = ReturnType<typeof largest>;
type Chart = { file?: string; scenario: keyof Big; pick: (m: Measurement) => number | null };
/** The charts: in the report, and (those with a file) as SVG in bench/results/charts. */
export const CHARTS: Array<Chart & { title: (p: Plan, b: Big) => string; unit: string }> = [
  {
    file: 'fanout-cpu.svg',
    scenario: 'fanout',
    pick: (m) => m.cpuUsPerEvent,
    title: (_, b) => `Server CPU per delivered event: one event to ${n(b.fanoutN)} clients, 64 B`,
    unit: 'µs per delivered event',
  },
  {
    file: 'idle-memory.svg',
    scenario: 'idle',
    pick: (m) => m.memPerConnKB,
    title: (_, b) => `Memory per idle connection, ${n(b.idleN)} streams held`,
    unit: 'KiB RSS per connection',
  },
  {
    file: 'latency-p99.svg',
    scenario: 'latency',
    pick: (m) => m.p99Ms,
    title: (p, b) => `p99 latency, ${p.latency.rate} events/s to ${n(b.fanoutN)} clients`,
    unit: 'ms',
  },
  {
    scenario: 'poll',
    pick: (m) => m.cpuUsPerEvent,
    title: (_, b) => `Polling: server CPU per event, ${n(b.pollN)} streams with their own timers`,
    unit: 'µs per event',
  },
];

const LEGEND = { ours: 'ours (@sse-middleware)', raw: 'raw baseline', peer: 'peer library' };

export function renderChart(results: Results, plan: Plan, chart: (typeof CHARTS)[number]) {
  const big = largest(plan);
  const groups = ADAPTERS.map(({ adapter, variants }) => ({
    label: adapter,
    bars: variants.map((series) => {
      const m = results[adapter]?.[big[chart.scenario] as string]?.[series];
      return { series, value: m && !m.error ? chart.pick(m) : null };
    }),
  }));
  const title = `${chart.title(plan, big)} (lower is better)`;
  return barChart({ title, unit: chart.unit, groups, legend: LEGEND });
}

const list = (values: number[]) => values.map(n).join(' / ');

function sizes({ idle, fanout, payloads, latency, storm, poll, crossnode, fanoutOnIdle }: Plan) {
  const { nodes, payload, sizes: cross } = crossnode;
  const rows = {
    'idle hold': `N = ${list(idle)} streams, ramped in one server process, one event delivered to all at each level`,
    'fan-out': `${fanout.map((f) => `N = ${n(f.n)}: ${f.events} events × ${f.rounds} rounds`).join('; ')}; payloads ${payloads.map((p) => `${p} B`).join(' and ')}; two rounds' worth of unmeasured warm-up events first${fanoutOnIdle ? '; run on the streams of the idle hold (same server process)' : "; every variant's streams held at once, opened a tenth at a time server by server, rounds interleaved"}`,
    latency: `${latency.rate} events/s for ${latency.seconds} s (${latency.payload} B), to N = ${list(fanout.map((f) => f.n))}`,
    'connect storm': `${storm.map((c) => `${c.id}: ${n(c.clients)} clients at once, maxConnections ${n(c.maxConnections)}`).join('; ')}; listen backlog 4096 (uWS: its own default)`,
    polling: `N = ${list(poll.n)} streams, one event every ${poll.intervalMs} ms each, measured over ${poll.seconds} s`,
    'cross-node': cross.length
      ? `${cross.map((s) => `N = ${n(s.n)}: ${s.rate} events/s for ${s.seconds} s, ${s.rounds} round${s.rounds > 1 ? 's' : ''} of each set-up`).join('; ')} (${payload} B); single: 1 server in memory; redis: 1 server, then ${nodes} servers with N/${nodes} streams each; 5 unmeasured warm-up events first`
      : undefined,
  };
  return pairs(['scenario', 'sizes'], rows);
}

const link = (notes: Notes | undefined, key = '') => {
  const s = notes?.sections.get(key);
  return s && `[${s.title}](${notes!.href}#${s.slug})`;
};

/** One bullet per notes section, with every adapter it applies to and by how much it missed. */
function missedTargets(checks: TargetCheck[], notes: Notes | undefined): string {
  const groups = new Map<string, { target: string; where: string[] }>();
  for (const c of checks.filter((check) => check.met === false)) {
    const key = notes?.sections.has(`${c.id}:${c.adapter}`) ? `${c.id}:${c.adapter}` : c.id;
    const group = groups.get(key) ?? { target: c.target, where: [] };
    group.where.push(`${c.adapter}: ${c.margin.replace(/^missed:? ?/, '')}`);
    groups.set(key, group);
  }
  const why = (key: string) =>
    link(notes, key) ? `Why: ${link(notes, key)}` : 'No analysis recorded yet';
  return [...groups]
    .map(([k, g]) => `- **${g.target}** (${g.where.join('; ')}). ${why(k)}.`)
    .join('\n');
}

/** page.md with `{{name}}` filled in, `{{#name}}…{{/name}}` kept if `name` is set, `{{^name}}` if not. */
export function fill(template: string, values: Record<string, string | undefined>): string {
  return template
    .replace(/\{\{([#^])(\w+)\}\}([\s\S]*?)\{\{\/\2\}\}/g, (_, flag, key: string, body: string) =>
      (flag === '#') === Boolean(values[key]) ? body : '',
    )
    .replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? '')
    .replace(/\n{3,}/g, '\n\n');
}

/**
 * The "100,000 streams" section: the last `pnpm bench --scale` (bench/results/scale.json), a run
 * of its own, linked from `readme`'s directory to docs/benchmarks-scale.md and docs/scaling.md.
 */
function scaleSection(readme: string): Record<string, string | undefined> {
  const result = loadScaleResult();
  if (!result) return {};
  const h = headline(result);
  const docs = posix.join(posix.dirname(readme), '..', 'docs');
  const calls = result.redisCallsPerEvent;
  const rows = pairs(['', ''], {
    streams: `${n(h.streams)} over ${h.servers} server processes (${h.kinds.map((k) => `${k.servers} × ${k.kind}`).join(', ')}) sharing one channel through one Redis stream`,
    delivery: `${n(h.all.delivered)}/${n(h.all.expected)} over ${result.plan.broadcasts} broadcasts${h.complete ? ' (100%, each stream every event exactly once)' : ' (**incomplete**)'}`,
    'broadcast to all streams, p50 / p99': `${num(h.medianP50Ms, 0)} / ${num(h.medianP99Ms, 0)} ms (median of the broadcasts; worst p99 ${num(h.worstP99Ms, 0)} ms)`,
    'server RSS per stream (after GC)': h.kinds
      .map((k) => `${k.kind} ${num(k.rssPerStreamKiB)} KiB`)
      .join(', '),
    'kernel per stream': `${num(h.kernelPerStreamKiB)} KiB for both ends on loopback (${num(h.kernelPerEndKiB)} KiB per end)`,
    'server CPU per delivery': h.kinds
      .map((k) => `${k.kind} ${num(k.cpuUsPerDelivery)} µs`)
      .join(', '),
    'Redis commands per event': `${calls.xread ?? 0} XREAD (one per server), ${calls.evalsha ?? 0} EVALSHA (the append: XREVRANGE + XADD)`,
  });
  return {
    scale: rows,
    scaleCommand: result.command,
    scaleDay: result.date.slice(0, 10),
    scaleReport: posix.join(docs, 'benchmarks-scale.md'),
    scaling: posix.join(docs, 'scaling.md'),
  };
}

export function renderMarkdown(input: ReportInput, checks: TargetCheck[], links: Links) {
  const { results, plan, meta, failures, crossnode } = input;
  const { cpu, cores, memoryGiB, node, platform, pinned } = meta.machine;
  const command = [meta.command, ...meta.args.filter((a) => a !== '--quick')].join(' ');
  const machine = {
    ...{ date: meta.date, command: `\`${command}\``, duration: `${meta.durationS} s` },
    ...{ CPU: `${cpu}, ${cores} cores`, memory: `${memoryGiB} GiB`, 'Node.js': node, platform },
    ...{ pinning: pinned, 'load generators': `at most ${n(plan.perWorker)} streams each` },
    'load average (1/5/15 min) at start': meta.loadStart.join(' / '),
    'load average at end': meta.loadEnd.join(' / '),
  };
  const merged = (meta.merged ?? []).map(
    (run) =>
      `Merged in afterwards: the scenarios of \`${[run.command, ...run.args].join(' ')}\` on ${run.date.slice(0, 10)} (${Math.round(run.durationS / 60)} min, load ${run.loadStart.join(' / ')} at start) replace those of the run above; their figures come from that run.`,
  );
  const results_ = tables.RESULT_TABLES.map((spec) => {
    const why = link(links.notes, spec.note);
    return [
      `### ${spec.title(plan)}`,
      table(spec.columns, tables.resultRows(results, spec.prefix)),
      why && `Notes: ${why}.`,
    ];
  });
  const cross = crossnode && Object.keys(crossnode.results).length > 0 ? crossnode : undefined;
  return fill(links.page, {
    command: meta.command,
    day: meta.date.slice(0, 10),
    minutes: String(Math.round(meta.durationS / 60)),
    json: links.json,
    readme: links.readme,
    notes: links.notes?.href,
    notesDate: links.notes?.date,
    merged: merged.join('\n\n'),
    machine: pairs(['', ''], machine),
    sizes: sizes(plan),
    adapters: table<(typeof ADAPTERS)[number]>(
      [
        ['adapter', (a) => a.adapter],
        ['raw baseline', (a) => a.raw],
        ['peer', (a) => a.peer ?? dash],
      ],
      ADAPTERS,
    ),
    targets: table(tables.TARGET_COLUMNS, checks),
    missed: missedTargets(checks, links.notes),
    noise: tables.noiseTable(results),
    floor: tables.floorTable(results),
    spread: (tables.roundSpread(results) * 100).toFixed(0),
    charts: CHARTS.map((chart) => renderChart(results, plan, chart)).join('\n\n'),
    results: results_.flat().filter(Boolean).join('\n\n'),
    crossnode:
      cross &&
      table(tables.CROSS_NODE_COLUMNS, tables.crossNodeRows(cross.results, plan.crossnode.nodes)),
    redis: cross?.redis,
    failures: failures.map((f) => `- ${f}`).join('\n'),
    ...scaleSection(links.readme),
  });
}
