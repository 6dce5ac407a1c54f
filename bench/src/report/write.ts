import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADAPTERS, FULL, type Plan } from '../plan.js';
import type { Adapter } from '../protocol.js';
import {
  addedP99Ms,
  type CrossNodeResults,
  type Measurement,
  type Results,
  type ScenarioResults,
} from '../results.js';
import { chart, renderMarkdown } from './markdown.js';
import { checkTargets, largest, type TargetCheck } from './targets.js';

/** The cross-node scenario's figures, and where its redis-server ran. */
export interface CrossNodeReport {
  /** Where redis-server ran and how it persisted, in words. */
  redis: string;
  results: CrossNodeResults;
}

/** A later run whose figures were merged into this report (`--merge`). */
export interface MergedRun {
  date: string;
  durationS: number;
  command: string;
  args: string[];
  loadStart: number[];
  loadEnd: number[];
}

export interface ReportInput {
  plan: Plan;
  partial: boolean;
  results: Results;
  crossnode?: CrossNodeReport;
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
    merged?: MergedRun[];
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

/** Per N: both topologies' latency, flat, and what Redis added to p99 (redis − single, ms). */
function summarizeCrossNode(crossnode: CrossNodeReport | undefined) {
  if (!crossnode) return undefined;
  const scenarios: Record<string, unknown> = {};
  for (const [scenario, { single, redisOne, redis }] of Object.entries(crossnode.results)) {
    scenarios[scenario] = {
      p50Ms: single?.p50Ms ?? null,
      p99Ms: single?.p99Ms ?? null,
      p999Ms: single?.p999Ms ?? null,
      maxMs: single?.maxMs ?? null,
      delivered: single?.delivered ?? 0,
      expected: single?.expected ?? 0,
      redisP50Ms: redis?.p50Ms ?? null,
      redisP99Ms: redis?.p99Ms ?? null,
      redisP999Ms: redis?.p999Ms ?? null,
      redisMaxMs: redis?.maxMs ?? null,
      redisDelivered: redis?.delivered ?? 0,
      redisExpected: redis?.expected ?? 0,
      addedP99Ms: addedP99Ms(single, redis),
      redisOneP50Ms: redisOne?.p50Ms ?? null,
      redisOneP99Ms: redisOne?.p99Ms ?? null,
      redisOneAddedP99Ms: addedP99Ms(single, redisOne),
      detail: { single, redisOne, redis },
    };
  }
  return { redis: crossnode.redis, scenarios };
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
    crossnode: summarizeCrossNode(input.crossnode),
  };
}

type SavedDocument = ReturnType<typeof document>;

/** Writes the JSON, the markdown and the charts; returns the paths written. */
export async function writeReports(input: ReportInput): Promise<string[]> {
  const checks = checkTargets(input.results, input.plan, input.crossnode?.results);
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

/** The report input saved in results/latest.json (the last full run, with what was merged into it). */
async function loadLatest(): Promise<ReportInput> {
  const saved = JSON.parse(await readFile(LATEST_JSON, 'utf8')) as SavedDocument;
  const results: Results = {};
  for (const [adapter, scenarios] of Object.entries(saved.results)) {
    const byScenario: Record<string, ScenarioResults> = {};
    for (const [scenario, summary] of Object.entries(scenarios)) {
      byScenario[scenario] = (summary as { detail: ScenarioResults }).detail;
    }
    results[adapter as Adapter] = byScenario;
  }
  let crossnode: CrossNodeReport | undefined;
  if (saved.crossnode) {
    crossnode = { redis: saved.crossnode.redis, results: {} };
    for (const [scenario, summary] of Object.entries(saved.crossnode.scenarios)) {
      crossnode.results[scenario] = (summary as { detail: CrossNodeResults[string] }).detail;
    }
  }
  return {
    // Runs from before the cross-node group have no sizes for it.
    plan: { ...saved.plan, crossnode: saved.plan.crossnode ?? { ...FULL.crossnode, sizes: [] } },
    partial: saved.partial,
    results,
    ...(crossnode ? { crossnode } : {}),
    failures: saved.failures,
    meta: saved.meta,
  };
}

/** Re-renders docs/benchmarks.md (and the targets in latest.json) from the last full run. */
export async function rerenderLatest(): Promise<string[]> {
  return writeReports(await loadLatest());
}

/**
 * Merges the figures of a run of some groups (`--groups=crossnode --merge`) into the last full run
 * (results/latest.json): what this run measured replaces the same scenarios there, the rest stays,
 * and the report names both runs. Then writes latest.json and docs/benchmarks.md as a full run does.
 */
export async function mergeIntoLatest(input: ReportInput): Promise<string[]> {
  const latest = await loadLatest().catch((error: unknown) => {
    throw new Error(`--merge needs a full run in ${relative(repoRoot, LATEST_JSON)}`, {
      cause: error,
    });
  });
  const results: Results = { ...latest.results };
  const remeasured: Array<(failure: string) => boolean> = [];
  for (const [adapter, scenarios] of Object.entries(input.results)) {
    const merged = { ...(results[adapter as Adapter] ?? {}) };
    for (const [scenario, entry] of Object.entries(scenarios)) {
      merged[scenario] = { ...merged[scenario], ...entry };
      remeasured.push((f) => f.startsWith(`${adapter} `) && f.includes(` ${scenario}:`));
    }
    results[adapter as Adapter] = merged;
  }
  let crossnode = latest.crossnode;
  if (input.crossnode) {
    crossnode = {
      redis: input.crossnode.redis,
      results: { ...latest.crossnode?.results, ...input.crossnode.results },
    };
    for (const scenario of Object.keys(input.crossnode.results))
      remeasured.push((f) => f.startsWith(`${scenario} `));
  }
  const { date, durationS, command, args, loadStart, loadEnd } = input.meta;
  return writeReports({
    plan: input.plan,
    partial: false,
    results,
    ...(crossnode ? { crossnode } : {}),
    failures: [
      ...latest.failures.filter((f) => !remeasured.some((matches) => matches(f))),
      ...input.failures,
    ],
    meta: {
      ...latest.meta,
      merged: [
        ...(latest.meta.merged ?? []),
        { date, durationS, command, args, loadStart, loadEnd },
      ],
    },
  });
}
