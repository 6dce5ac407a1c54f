/** Writes the soak's JSON, its markdown report and its charts. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAT_WITHIN, type Flatness, flatness, loadSummary, twoAtATimeFits } from './analysis.js';
import { type LineSeries, lineChart } from './chart.js';
import type { SetupResult, SoakRun } from './run.js';

const benchRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = join(benchRoot, '..');

const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(1);
const pct = (ratio: number) => `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const minutes = (s: number) => Math.round((s / 60) * 100) / 100;

/** A server process's name: the set-up's, numbered when it has several. */
const serverName = (result: SetupResult, i: number) =>
  result.setup.servers > 1 ? `${result.setup.name} #${i + 1}` : result.setup.name;

/** Why the run fails, if it does: a loss, a duplicate, a stream left open, a crash. */
export function soakFailures(run: SoakRun): string[] {
  const failures: string[] = [];
  for (const r of run.results) {
    const s = r.sequences;
    const name = r.setup.name;
    if (r.error) failures.push(`${name}: ${r.error}`);
    if (!s) continue;
    if (s.lost > 0) failures.push(`${name}: ${s.lost} acknowledged deliveries lost`);
    if (s.duplicated > 0)
      failures.push(`${name}: ${s.duplicated} deliveries duplicated or out of order`);
    if (s.silent > 0) failures.push(`${name}: ${s.silent} streams got nothing`);
    if (r.openAfter !== r.openBefore)
      failures.push(`${name}: open streams ${r.openBefore} before, ${r.openAfter} after`);
  }
  return failures;
}

function charts(run: SoakRun) {
  const rss: LineSeries[] = [];
  const heap: LineSeries[] = [];
  const delivery: LineSeries[] = [];
  for (const r of run.results) {
    for (let i = 0; i < r.setup.servers; i += 1) {
      rss.push({
        name: serverName(r, i),
        points: r.points.map((p) => [minutes(p.t), (p.servers[i]?.rss ?? 0) / 1024 ** 2]),
      });
      heap.push({
        name: serverName(r, i),
        points: r.points
          .filter((p) => p.servers[i]?.gc)
          .map((p) => [minutes(p.t), (p.servers[i]?.heapUsed ?? 0) / 1024 ** 2]),
      });
    }
    delivery.push({
      name: r.setup.name,
      points: r.points.slice(1).map((p) => [minutes(p.t), p.deliveredPerSec]),
    });
  }
  const x = 'minutes since the set-up started (slots overlaid)';
  const drops = run.results[0]?.events.filter((e) => e.what.startsWith('drop')) ?? [];
  const marks = drops.map((e) => ({ x: minutes(e.t), label: e.what }));
  return {
    rss: lineChart({
      title: 'Server RSS over time (every sample)',
      xLabel: x,
      yLabel: 'MiB',
      series: rss,
      marks,
    }),
    heap: lineChart({
      title: 'Server heap used over time (after a forced GC)',
      xLabel: x,
      yLabel: 'MiB',
      series: heap,
      marks,
    }),
    delivery: lineChart({
      title: 'Deliveries per second over time (events received by all clients of a set-up)',
      xLabel: x,
      yLabel: 'events/s',
      series: delivery,
      marks,
    }),
  };
}

function flatRow(r: SetupResult, i: number, f: Flatness | undefined): string {
  if (!f) return `| ${serverName(r, i)} | too few samples | | | |`;
  return `| ${serverName(r, i)} | ${minutes(f.from)}–${minutes(f.to)} min (${f.samples} samples) | ${mib(f.rssFirst)} → ${mib(f.rssLast)} MiB (${pct(f.rssChange)}) | ${mib(f.heapFirst)} → ${mib(f.heapLast)} MiB (${pct(f.heapChange)}) | ${f.met ? 'met' : 'missed'} |`;
}

/** The pilot that chose the schedule: each set-up's load when two ran at a time. */
function pilotSection(pilot: SoakRun, link: string): string[] {
  const fit = twoAtATimeFits(pilot);
  const lines = [
    '## Pilot',
    '',
    `Before the soak, a pilot ([report](${link}), ${pilot.meta.date}): ${int(pilot.plan.streams)} streams per set-up, two set-ups at a time, ${minutes(pilot.plan.slotMs / 1000)} min per slot. ${fit.fits ? 'Two at a time fitted the machine.' : `Two at a time did not fit (the clients fell behind the schedule, the servers' timers stalled for seconds), so the soak ran one set-up at a time: ${fit.reasons.join('; ')}.`}`,
    '',
    '| pilot slot | set-up | deliveries/s (median) | server CPU | load generators CPU | event-loop delay max | load average (max) |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of pilot.results) {
    const l = loadSummary(r);
    lines.push(
      `| ${r.slot + 1} | ${r.setup.name} | ${int(l.deliveredPerSecMedian)} | ${l.serverCpuPctMedian}% | ${l.clientCpuPctMedian}% | ${int(l.loopMaxMs)} ms | ${l.loadavgMax} |`,
    );
  }
  lines.push('');
  return lines;
}

function renderMarkdown(
  run: SoakRun,
  chartFiles: Record<string, string>,
  links: { json: string; readme: string },
  failures: string[],
  pilot: { pilot: SoakRun; link: string } | undefined,
) {
  const { plan } = run;
  const quick = plan.name === 'quick';
  const lines: string[] = [];
  lines.push(
    `# Soak${quick ? ' (smoke run)' : plan.name === 'pilot' ? ' (pilot)' : ''}`,
    '',
    `<!-- Generated by \`pnpm bench --soak${quick ? ' --quick' : ''}\` (bench/src/soak/): do not edit by hand. -->`,
    '',
    `Run ${run.meta.date}, ${Math.round(run.meta.durationS / 60)} min (\`pnpm bench ${run.meta.args.join(' ')}\`); load average ${run.meta.loadStart.join(' ')} at the start, ${run.meta.loadEnd.join(' ')} at the end. Data: \`${links.json}\`. Method: [bench/README.md](${links.readme}#soak).`,
    '',
    `**Load.** ${int(plan.streams)} streams per set-up, ${plan.perSecond} broadcasts a second of ${plan.payloadBytes} B (${int(plan.streams * plan.perSecond)} deliveries/s per set-up); every ${plan.dropEveryMs / 1000} s, 1 stream in ${plan.dropOneIn} (a different slice each time) drops and reconnects after 0.5–1.5 s with its \`Last-Event-ID\`. The channel keeps 1,000 events (in memory; the Redis store trims to about 1,000): ${1000 / plan.perSecond} s at ${plan.perSecond}/s, against a reconnect gap under 2 s.`,
    '',
    `**Schedule.** ${run.schedule.length} slots of ${minutes(plan.slotMs / 1000)} min, ${plan.parallel} set-up(s) at a time, each with its own server process(es) and ${plan.clientsPerSetup} load-generator processes, none pinned (2 cores shared): ${run.schedule.map((s, i) => `slot ${i + 1}: ${s.join(' + ')}`).join('; ')}.`,
    '',
    run.redis
      ? `**Redis.** One redis-server, ${run.redis}; ${plan.redisStopAtMs / 1000} s into its slot, down ${plan.redisDownMs / 1000} s, then restarted on the same port and data. The two node-http servers share the channel's Redis stream; events are published on the first; each stream reconnects to the other server than the one it left.`
      : '',
    '',
    ...(pilot ? pilotSection(pilot.pilot, pilot.link) : []),
    '## Verdict',
    '',
    '| set-up | deliveries checked | lost | duplicated | publishes rejected | open streams before → after | memory flat (±5%) | event-loop delay p99, median / worst 5 s window |',
    '|---|---:|---:|---:|---:|---|---|---|',
  );
  for (const r of run.results) {
    const s = r.sequences;
    const flat = Array.from({ length: r.setup.servers }, (_, i) => flatness(r, plan, i));
    const load = loadSummary(r);
    const flatText = flat.every((f) => f?.met)
      ? 'met'
      : flat.some((f) => f === undefined)
        ? 'n/a'
        : 'missed';
    lines.push(
      `| ${r.setup.name} | ${s ? int(s.expected) : 'n/a'} | ${s ? int(s.lost) : 'n/a'} | ${s ? int(s.duplicated) : 'n/a'} | ${s ? int(s.publishFailures) : 'n/a'} | ${r.openBefore} → ${r.openAfter} | ${flatText} | ${load.loopP99MedianMs.toFixed(1)} / ${load.loopP99WorstMs.toFixed(1)} ms |`,
    );
  }
  lines.push(
    '',
    `"Deliveries checked": per stream, every acknowledged event from its first to the last one published, summed; a stream's sequence is checked across all its reconnects. "Lost": acknowledged and never received. A publish that rejected (Redis down) is not owed.`,
    '',
    `## Memory over time`,
    '',
    `Mean RSS and heap used of the samples taken after a forced GC (every ${(plan.sampleEveryMs * plan.gcEvery) / 1000} s), first third of the window against the last third; the window starts after ${minutes(plan.warmupMs / 1000)} min of warm-up. Flat: both within ±${FLAT_WITHIN * 100}%.`,
    '',
    '| server process | window | RSS first → last third | heap used first → last third | flat |',
    '|---|---|---|---|---|',
  );
  for (const r of run.results)
    for (let i = 0; i < r.setup.servers; i += 1) lines.push(flatRow(r, i, flatness(r, plan, i)));
  lines.push(
    '',
    `![RSS over time](${chartFiles.rss})`,
    '',
    `![Heap over time](${chartFiles.heap})`,
    '',
    '## Delivery and churn',
    '',
    '| set-up | deliveries/s (median) | reconnects | failed reconnect attempts | closed by the server | replay-gap events | streams silent | delivered although the publish rejected | catch-up after the last publish |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of run.results) {
    const c = r.finalCounts;
    const s = r.sequences;
    lines.push(
      `| ${r.setup.name} | ${int(loadSummary(r).deliveredPerSecMedian)} | ${c ? int(c.reconnects) : 'n/a'} | ${c ? int(c.reconnectFailures) : 'n/a'} | ${c ? int(c.serverCloses) : 'n/a'} | ${s ? s.replayGaps : 'n/a'} | ${s ? s.silent : 'n/a'} | ${s ? int(s.deliveredDespiteFailure) : 'n/a'} | ${r.drainMs} ms |`,
    );
  }
  lines.push('', `![Deliveries over time](${chartFiles.delivery})`, '');
  const restarts = run.results.flatMap((r) =>
    r.events
      .filter((e) => e.what.startsWith('redis'))
      .map((e) => `${r.setup.name}: ${e.what} at ${e.t.toFixed(1)} s`),
  );
  if (restarts.length) lines.push(`Redis: ${restarts.join('; ')}.`, '');
  lines.push(
    '## Load on the machine',
    '',
    '| set-up | server CPU (median, % of a core) | load generators CPU (median) | load average (1 min, max) | event-loop delay max |',
    '|---|---:|---:|---:|---:|',
  );
  for (const r of run.results) {
    const l = loadSummary(r);
    lines.push(
      `| ${r.setup.name} | ${l.serverCpuPctMedian}% | ${l.clientCpuPctMedian}% | ${l.loadavgMax} | ${l.loopMaxMs.toFixed(1)} ms |`,
    );
  }
  lines.push(
    '',
    '## Failures',
    '',
    failures.length ? failures.map((f) => `- ${f}`).join('\n') : 'None.',
    '',
  );
  return lines.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n');
}

const STEMS: Record<SoakRun['plan']['name'], string> = {
  full: 'soak',
  quick: 'soak-quick',
  pilot: 'soak-pilot',
};

/** Where a run of this kind keeps its JSON. */
export const soakJson = (name: SoakRun['plan']['name']) =>
  join(benchRoot, 'results', `${STEMS[name]}.json`);

async function loadPilot(): Promise<SoakRun | undefined> {
  try {
    return JSON.parse(await readFile(soakJson('pilot'), 'utf8')) as SoakRun;
  } catch {
    return undefined;
  }
}

/**
 * Writes bench/results/soak.json, docs/benchmarks-soak.md and the charts (`soak-quick`,
 * `soak-pilot` files in bench/results for a smoke run or a pilot).
 */
export async function writeSoakReport(
  run: SoakRun,
): Promise<{ written: string[]; failures: string[] }> {
  const stem = STEMS[run.plan.name];
  const json = soakJson(run.plan.name);
  const markdown =
    run.plan.name === 'full'
      ? join(repoRoot, 'docs', 'benchmarks-soak.md')
      : join(benchRoot, 'results', `${stem}.md`);
  const chartDir = join(benchRoot, 'results', 'charts');
  await mkdir(chartDir, { recursive: true });
  const failures = soakFailures(run);
  const rendered = charts(run);
  const written: string[] = [];
  const chartFiles: Record<string, string> = {};
  for (const [name, svg] of Object.entries(rendered)) {
    const file = join(chartDir, `${stem}-${name}.svg`);
    await writeFile(file, `${svg}\n`);
    chartFiles[name] = relative(dirname(markdown), file);
    written.push(file);
  }
  await writeFile(json, `${JSON.stringify({ ...run, failures }, null, 1)}\n`);
  const links = {
    json: relative(repoRoot, json),
    readme: relative(dirname(markdown), join(benchRoot, 'README.md')),
  };
  const pilot = run.plan.name === 'full' ? await loadPilot() : undefined;
  const pilotLink = pilot
    ? relative(dirname(markdown), join(benchRoot, 'results', `${STEMS.pilot}.md`))
    : undefined;
  await writeFile(
    markdown,
    renderMarkdown(
      run,
      chartFiles,
      links,
      failures,
      pilot && pilotLink ? { pilot, link: pilotLink } : undefined,
    ),
  );
  written.unshift(json, markdown);
  return { written: written.map((file) => relative(repoRoot, file)), failures };
}
