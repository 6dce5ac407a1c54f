import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADAPTERS, type Plan } from '../plan.js';
import type { Adapter } from '../protocol.js';
import type { Measurement, Results, ScenarioResults } from '../results.js';
import { chart, renderMarkdown } from './markdown.js';
import { checkTargets, largest, type TargetCheck } from './targets.js';

export interface ReportInput {
  plan: Plan;
  partial: boolean;
  results: Results;
  failures: string[];
  meta: {
    date: string;
    durationS: number;
    machine: {
      cpu: string;
      cores: number;
      memoryGiB: number;
      node: string;
      platform: string;
      pinned: string;
    };
    loadStart: number[];
    loadEnd: number[];
    command: string;
    args: string[];
  };
}

const benchRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = join(benchRoot, '..');
export const LATEST_JSON = join(benchRoot, 'results', 'latest.json');

const pick = (m: Measurement | undefined) =>
  m
    ? {
        cpuUsPerEvent: m.cpuUsPerEvent,
        memPerConnKB: m.memPerConnKB,
        p50Ms: m.p50Ms,
        p99Ms: m.p99Ms,
        delivered: m.delivered,
        expected: m.expected,
      }
    : null;

const div = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined || b === 0
    ? null
    : Number((a / b).toFixed(3));

/** The JSON of the issue: per adapter and scenario, ours flat, the raw baseline as raw*, the peer nested. */
function summarize(results: Results) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { adapter, peer: peerName } of ADAPTERS) {
    const byScenario = results[adapter];
    if (!byScenario) continue;
    const scenarios: Record<string, unknown> = {};
    for (const [scenario, entry] of Object.entries(byScenario)) {
      const { ours, raw, peer } = entry;
      scenarios[scenario] = {
        cpuUsPerEvent: ours?.cpuUsPerEvent ?? null,
        rawCpuUsPerEvent: raw?.cpuUsPerEvent ?? null,
        memPerConnKB: ours?.memPerConnKB ?? null,
        rawMemPerConnKB: raw?.memPerConnKB ?? null,
        p50Ms: ours?.p50Ms ?? null,
        p99Ms: ours?.p99Ms ?? null,
        p999Ms: ours?.p999Ms ?? null,
        delivered: ours?.delivered ?? 0,
        expected: ours?.expected ?? 0,
        rawP50Ms: raw?.p50Ms ?? null,
        rawP99Ms: raw?.p99Ms ?? null,
        rawP999Ms: raw?.p999Ms ?? null,
        rawDelivered: raw?.delivered ?? 0,
        rawExpected: raw?.expected ?? 0,
        peer: peer ? { name: peerName ?? null, ...pick(peer), p999Ms: peer.p999Ms } : null,
        ratios: {
          cpuVsRaw: div(ours?.cpuUsPerEvent, raw?.cpuUsPerEvent),
          cpuVsPeer: div(ours?.cpuUsPerEvent, peer?.cpuUsPerEvent),
          memVsRawDeltaKB:
            ours?.memPerConnKB != null && raw?.memPerConnKB != null
              ? Number((ours.memPerConnKB - raw.memPerConnKB).toFixed(3))
              : null,
          p99VsRaw: div(ours?.p99Ms, raw?.p99Ms),
          p99VsPeer: div(ours?.p99Ms, peer?.p99Ms),
        },
        detail: entry,
      };
    }
    out[adapter] = scenarios;
  }
  return out;
}

function charts(results: Results, plan: Plan): Record<string, string> {
  const big = largest(plan);
  return {
    'fanout-cpu.svg': chart(
      results,
      big.fanout,
      (m) => m.cpuUsPerEvent,
      `CPU per delivered event, ${big.fanout}`,
      'µs',
    ),
    'idle-memory.svg': chart(
      results,
      big.idle,
      (m) => m.memPerConnKB,
      `Memory per idle connection, ${big.idle}`,
      'KiB',
    ),
    'latency-p99.svg': chart(
      results,
      big.latency,
      (m) => m.p99Ms,
      `p99 latency, ${big.latency}`,
      'ms',
    ),
  };
}

function document(input: ReportInput, checks: TargetCheck[]) {
  return {
    meta: input.meta,
    plan: input.plan,
    partial: input.partial,
    targets: checks,
    failures: input.failures,
    results: summarize(input.results),
  };
}

/** Writes the JSON, the markdown and the charts; returns the paths written. */
export async function writeReports(input: ReportInput): Promise<string[]> {
  const checks = checkTargets(input.results, input.plan);
  const stem = input.partial ? 'partial' : input.plan.name === 'quick' ? 'quick' : 'latest';
  const json = join(benchRoot, 'results', `${stem}.json`);
  const markdown =
    stem === 'latest'
      ? join(repoRoot, 'docs', 'benchmarks.md')
      : join(benchRoot, 'results', `${stem}.md`);
  await mkdir(dirname(json), { recursive: true });
  await writeFile(json, `${JSON.stringify(document(input, checks), null, 2)}\n`);
  await writeFile(markdown, renderMarkdown(input, checks, relative(repoRoot, json)));
  const written = [json, markdown];
  if (stem === 'latest') {
    const dir = join(benchRoot, 'results', 'charts');
    await mkdir(dir, { recursive: true });
    for (const [name, svg] of Object.entries(charts(input.results, input.plan))) {
      const file = join(dir, name);
      await writeFile(file, `${svg}\n`);
      written.push(file);
    }
  }
  return written.map((file) => relative(repoRoot, file));
}

/** Re-renders docs/benchmarks.md (and the targets in latest.json) from the last full run. */
export async function rerenderLatest(): Promise<string[]> {
  const saved = JSON.parse(await readFile(LATEST_JSON, 'utf8')) as ReturnType<typeof document>;
  const results: Results = {};
  for (const [adapter, scenarios] of Object.entries(saved.results)) {
    const byScenario: Record<string, ScenarioResults> = {};
    for (const [scenario, summary] of Object.entries(scenarios)) {
      byScenario[scenario] = (summary as { detail: ScenarioResults }).detail;
    }
    results[adapter as Adapter] = byScenario;
  }
  return writeReports({
    plan: saved.plan,
    partial: saved.partial,
    results,
    failures: saved.failures,
    meta: saved.meta,
  });
}
