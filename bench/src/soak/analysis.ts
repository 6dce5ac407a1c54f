/** What the soak's timelines say: memory flat or not after warm-up, event-loop delay, load. */
import { median } from '../measure.js';
import type { SoakPlan } from './plan.js';
import type { SetupResult } from './run.js';

/** Memory may move by this much between the first and the last third of the window. */
export const FLAT_WITHIN = 0.05;

export interface Flatness {
  /** The window compared, seconds since the slot started. */
  from: number;
  to: number;
  samples: number;
  rssFirst: number;
  rssLast: number;
  rssChange: number;
  heapFirst: number;
  heapLast: number;
  heapChange: number;
  met: boolean;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/**
 * Per server process: the mean RSS and heap used (samples after a forced GC) over the first third
 * of the window after warm-up against the last third.
 */
export function flatness(
  result: SetupResult,
  plan: SoakPlan,
  server: number,
): Flatness | undefined {
  const samples = result.points
    .filter((p) => p.t >= plan.warmupMs / 1000 && p.servers[server]?.gc)
    .map((p) => ({ t: p.t, s: p.servers[server]! }));
  if (samples.length < 3) return undefined;
  const from = plan.warmupMs / 1000;
  const to = samples.at(-1)!.t;
  const third = (to - from) / 3;
  const first = samples.filter((x) => x.t <= from + third);
  const last = samples.filter((x) => x.t >= to - third);
  const rssFirst = mean(first.map((x) => x.s.rss));
  const rssLast = mean(last.map((x) => x.s.rss));
  const heapFirst = mean(first.map((x) => x.s.heapUsed));
  const heapLast = mean(last.map((x) => x.s.heapUsed));
  const rssChange = rssLast / rssFirst - 1;
  const heapChange = heapLast / heapFirst - 1;
  return {
    from,
    to,
    samples: samples.length,
    rssFirst,
    rssLast,
    rssChange,
    heapFirst,
    heapLast,
    heapChange,
    met: Math.abs(rssChange) <= FLAT_WITHIN && Math.abs(heapChange) <= FLAT_WITHIN,
  };
}

export interface LoadSummary {
  /** The event-loop delay p99 of the sampling windows (worst server): median and worst window. */
  loopP99MedianMs: number;
  loopP99WorstMs: number;
  loopMaxMs: number;
  deliveredPerSecMedian: number;
  serverCpuPctMedian: number;
  clientCpuPctMedian: number;
  loadavgMax: number;
}

/** Over the points after the first (whose window holds the start and the connect ramp). */
export function loadSummary(result: SetupResult): LoadSummary {
  const points = result.points.slice(2);
  const loopP99 = points.map((p) => Math.max(...p.servers.map((s) => s.loopDelayP99Ms)));
  return {
    loopP99MedianMs: median(loopP99),
    loopP99WorstMs: Math.max(0, ...loopP99),
    loopMaxMs: Math.max(0, ...points.flatMap((p) => p.servers.map((s) => s.loopDelayMaxMs))),
    deliveredPerSecMedian: median(points.map((p) => p.deliveredPerSec)),
    serverCpuPctMedian: median(points.map((p) => p.serverCpuPct)),
    clientCpuPctMedian: median(points.map((p) => p.clientCpuPct)),
    loadavgMax: Math.max(0, ...points.map((p) => p.loadavg1)),
  };
}

/** A slot may use this much CPU (servers and load generators, % of one core) on the two cores. */
const SLOT_CPU_BUDGET_PCT = 170;

/**
 * Whether two set-ups at a time fit the machine, from a pilot: each set-up keeps its rate (97%
 * of streams × events/s, median) and its event loop (p99 under 50 ms, median), and each slot's
 * CPU stays within budget.
 */
export function twoAtATimeFits(pilot: { plan: SoakPlan; results: SetupResult[] }): {
  fits: boolean;
  reasons: string[];
} {
  const reasons: string[] = [];
  const slotCpu = new Map<number, number>();
  const planned = pilot.plan.streams * pilot.plan.perSecond;
  for (const result of pilot.results) {
    const load = loadSummary(result);
    const cpu = load.serverCpuPctMedian + load.clientCpuPctMedian;
    slotCpu.set(result.slot, (slotCpu.get(result.slot) ?? 0) + cpu);
    if (load.deliveredPerSecMedian < 0.97 * planned)
      reasons.push(
        `${result.setup.name}: ${load.deliveredPerSecMedian.toLocaleString('en-US')} deliveries/s of ${planned.toLocaleString('en-US')} planned`,
      );
    if (load.loopP99MedianMs > 50)
      reasons.push(
        `${result.setup.name}: event-loop delay p99 ${load.loopP99MedianMs.toFixed(0)} ms (median window)`,
      );
  }
  for (const [slot, cpu] of slotCpu)
    if (cpu > SLOT_CPU_BUDGET_PCT)
      reasons.push(`slot ${slot + 1}: ${cpu}% CPU (budget ${SLOT_CPU_BUDGET_PCT}%)`);
  return { fits: reasons.length === 0, reasons };
}
