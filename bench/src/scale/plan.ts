/** The sizes of `pnpm bench --scale` (100,000 streams) and of its smoke run (`--scale --quick`). */

export interface ScalePlan {
  name: 'full' | 'quick';
  streams: number;
  /** Server kinds (server/main.ts), one process each, in turn: streams spread evenly over them. */
  servers: string[];
  /** Load-generator processes, each holding `streams / generators` sockets. */
  generators: number;
  /** Loopback source addresses the client sockets are bound to (127.0.0.2 on). */
  sourceAddresses: number;
  /** Measured broadcasts, one at a time: each waits until every stream has it, then `gapMs`. */
  broadcasts: number;
  /** Unmeasured broadcasts first: cold code, and proof that every server's tail is live. */
  warmup: number;
  gapMs: number;
  payloadBytes: number;
  /** Connections being opened at once per generator while ramping. */
  rampConcurrency: number;
  /** After the ramp, before the memory is sampled. */
  settleMs: number;
}

/** Streams a server or generator process may hold: 20,000 fds, less a margin for the rest. */
export const MAX_PER_PROCESS = 19_000;
/** Sockets bound to one source address (the ephemeral range is ~28,000 ports). */
const PER_SOURCE_ADDRESS = 10_000;

const KINDS = ['node-http-ours', 'uws-ours'];
const alternating = (count: number) => Array.from({ length: count }, (_, i) => KINDS[i % 2]!);

export const SCALE_FULL: ScalePlan = {
  name: 'full',
  streams: 100_000,
  servers: alternating(6),
  generators: 6,
  sourceAddresses: Math.ceil(100_000 / PER_SOURCE_ADDRESS),
  broadcasts: 10,
  warmup: 3,
  gapMs: 1000,
  payloadBytes: 64,
  rampConcurrency: 64,
  settleMs: 3000,
};

export const SCALE_QUICK: ScalePlan = {
  name: 'quick',
  streams: 6000,
  servers: alternating(2),
  generators: 2,
  sourceAddresses: 3,
  broadcasts: 5,
  warmup: 2,
  gapMs: 200,
  payloadBytes: 64,
  rampConcurrency: 64,
  settleMs: 500,
};

/** Throws when a process of the plan would hold more streams than its descriptors allow. */
export function checkPlan(plan: ScalePlan): void {
  for (const [what, count] of [
    ['server', plan.servers.length],
    ['load generator', plan.generators],
  ] as const) {
    const each = Math.ceil(plan.streams / count);
    if (each > MAX_PER_PROCESS)
      throw new Error(`${each} streams per ${what} process: more than ${MAX_PER_PROCESS}`);
  }
}

export const sourceAddresses = (plan: ScalePlan) =>
  Array.from({ length: plan.sourceAddresses }, (_, i) => `127.0.0.${i + 2}`);
