/**
 * What a run's JSON (bench/results/<stem>.json) holds, and the last full run read back from
 * results/latest.json, for `--render` and `--merge`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADAPTERS, FULL, type Plan } from './plan.js';
import type { Adapter } from './protocol.js';
import {
  addedP99Ms,
  type CrossNodeResults,
  type Measurement,
  type Results,
  type ScenarioResults,
} from './results.js';
import type { TargetCheck } from './targets.js';

/** The cross-node scenario's figures, and where its redis-server ran (in words). */
export type CrossNodeReport = { redis: string; results: CrossNodeResults };

/** A later run whose figures were merged into this report (`--merge`). */
export type MergedRun = Pick<
  ReportInput['meta'],
  'date' | 'durationS' | 'command' | 'args' | 'loadStart' | 'loadEnd'
>;

export interface ReportInput {
  plan: Plan;
  partial: boolean;
  results: Results;
  crossnode?: CrossNodeReport;
  failures: string[];
  meta: {
    date: string;
    durationS: number;
    machine: Record<'cpu' | 'node' | 'platform' | 'pinned', string> &
      Record<'cores' | 'memoryGiB', number>;
    loadStart: number[];
    loadEnd: number[];
    command: string;
    args: string[];
    merged?: MergedRun[];
  };
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LATEST_JSON = join(repoRoot, 'bench', 'results', 'latest.json');

type M = Measurement | undefined;
/**
 * Flat figures in the JSON: `p99Ms` is the first measurement's, `rawP99Ms` (`redisP99Ms`…) the
 * one of that prefix; counts default to 0, figures to null.
 */
function flat(names: string, by: Record<string, M>) {
  return Object.fromEntries(
    names.split(' ').map((name) => {
      const [, prefix = '', rest = name] = /^(raw|redisOne|redis)?(.*)$/.exec(name)!;
      const field = (rest[0]!.toLowerCase() + rest.slice(1)) as keyof Measurement;
      const value =
        by[prefix]?.[field] ?? (field === 'delivered' || field === 'expected' ? 0 : null);
      return [name, value];
    }),
  );
}
const OURS_AND_RAW =
  'cpuUsPerEvent rawCpuUsPerEvent memPerConnKB rawMemPerConnKB settledMemPerConnKB rawSettledMemPerConnKB p50Ms p99Ms p999Ms delivered expected rawP50Ms rawP99Ms rawP999Ms rawDelivered rawExpected';
const PEER = ['cpuUsPerEvent', 'memPerConnKB', 'p50Ms', 'p99Ms', 'delivered', 'expected', 'p999Ms'];
const div = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 ? null : Number((a / b).toFixed(3));

/** The JSON of the issue: per adapter and scenario, ours flat, the raw baseline as raw*, the peer nested. */
function summarize(results: Results) {
  const adapters = ADAPTERS.filter(({ adapter }) => results[adapter]);
  return Object.fromEntries(
    adapters.map(({ adapter, peer: name }) => {
      const scenarios = Object.entries(results[adapter]!).map(([scenario, entry]) => {
        const { ours, raw, peer } = entry;
        const ratios = {
          cpuVsRaw: div(ours?.cpuUsPerEvent, raw?.cpuUsPerEvent),
          cpuVsPeer: div(ours?.cpuUsPerEvent, peer?.cpuUsPerEvent),
          memVsRawDeltaKB:
            ours?.memPerConnKB != null && raw?.memPerConnKB != null
              ? Number((ours.memPerConnKB - raw.memPerConnKB).toFixed(3))
              : null,
          p99VsRaw: div(ours?.p99Ms, raw?.p99Ms),
          p99VsPeer: div(ours?.p99Ms, peer?.p99Ms),
        };
        const peerFigures =
          peer && Object.fromEntries(PEER.map((k) => [k, peer[k as keyof Measurement]]));
        return [
          scenario,
          {
            ...flat(OURS_AND_RAW, { '': ours, raw }),
            peer: peer ? { name: name ?? null, ...peerFigures } : null,
            ...{ ratios, detail: entry },
          },
        ];
      });
      return [adapter, Object.fromEntries(scenarios)];
    }),
  );
}

const CROSS_SINGLE_AND_REDIS =
  'p50Ms p99Ms p999Ms maxMs delivered expected redisP50Ms redisP99Ms redisP999Ms redisMaxMs redisDelivered redisExpected';

/** Per N: every set-up's latency, flat, and what Redis added to p99 (median of rounds, ms). */
function summarizeCrossNode(crossnode: CrossNodeReport | undefined) {
  if (!crossnode) return undefined;
  const scenarios = Object.entries(crossnode.results).map(
    ([scenario, { single, redisOne, redis }]) => {
      const by = { '': single, redis, redisOne };
      return [
        scenario,
        {
          ...flat(CROSS_SINGLE_AND_REDIS, by),
          addedP99Ms: addedP99Ms(single, redis),
          ...flat('redisOneP50Ms redisOneP99Ms', by),
          redisOneAddedP99Ms: addedP99Ms(single, redisOne),
          detail: { single, redisOne, redis },
        },
      ];
    },
  );
  return { redis: crossnode.redis, scenarios: Object.fromEntries(scenarios) };
}

export const document = (input: ReportInput, checks: TargetCheck[]) => ({
  meta: input.meta,
  plan: input.plan,
  partial: input.partial,
  targets: checks,
  failures: input.failures,
  results: summarize(input.results),
  crossnode: summarizeCrossNode(input.crossnode),
});

type SavedDocument = ReturnType<typeof document>;

/** The report input saved in results/latest.json (the last full run, with what was merged into it). */
export async function loadLatest(): Promise<ReportInput> {
  const saved = JSON.parse(await readFile(LATEST_JSON, 'utf8')) as SavedDocument;
  const details = <T>(scenarios: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(scenarios).map(([s, summary]) => [s, (summary as { detail: T }).detail]),
    );
  const results: Results = {};
  for (const [adapter, scenarios] of Object.entries(saved.results))
    results[adapter as Adapter] = details<ScenarioResults>(scenarios);
  const { crossnode: cross } = saved;
  return {
    // Runs from before the cross-node group have no sizes for it.
    plan: { ...saved.plan, crossnode: saved.plan.crossnode ?? { ...FULL.crossnode, sizes: [] } },
    partial: saved.partial,
    results,
    ...(cross
      ? {
          crossnode: {
            redis: cross.redis,
            results: details<CrossNodeResults[string]>(cross.scenarios),
          },
        }
      : {}),
    failures: saved.failures,
    meta: saved.meta,
  };
}

/**
 * Merges the figures of a run of some groups (`--groups=crossnode --merge`) into the last full run
 * (results/latest.json): what this run measured replaces the same scenarios there, the rest stays,
 * and the report names both runs. Written as a full run is.
 */
export async function mergeIntoLatest(input: ReportInput): Promise<ReportInput> {
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
    const { redis, results: measured } = input.crossnode;
    crossnode = { redis, results: { ...latest.crossnode?.results, ...measured } };
    for (const scenario of Object.keys(measured))
      remeasured.push((f) => f.startsWith(`${scenario} `));
  }
  const { date, durationS, command, args, loadStart, loadEnd } = input.meta;
  const run = { date, durationS, command, args, loadStart, loadEnd };
  return {
    plan: input.plan,
    partial: false,
    results,
    ...(crossnode ? { crossnode } : {}),
    failures: [
      ...latest.failures.filter((f) => !remeasured.some((hit) => hit(f))),
      ...input.failures,
    ],
    meta: { ...latest.meta, merged: [...(latest.meta.merged ?? []), run] },
  };
}
