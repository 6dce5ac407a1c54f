/** The soak's sizes and schedule: full (`--soak`, 30 minutes) and smoke (`--soak --quick`). */
import type { Adapter } from '../protocol.js';

export interface SoakSetup {
  /** The name in the report. */
  name: string;
  adapter: Adapter;
  store: 'memory' | 'redis';
  /** Server processes sharing the channel (through Redis when more than one). */
  servers: number;
}

export const SETUPS: readonly SoakSetup[] = [
  { name: 'node-http', adapter: 'node-http', store: 'memory', servers: 1 },
  { name: 'fastify', adapter: 'fastify', store: 'memory', servers: 1 },
  { name: 'koa', adapter: 'koa', store: 'memory', servers: 1 },
  { name: 'hono', adapter: 'hono', store: 'memory', servers: 1 },
  { name: 'uws', adapter: 'uws', store: 'memory', servers: 1 },
  { name: 'node-http + Redis (2 servers)', adapter: 'node-http', store: 'redis', servers: 2 },
];

export interface SoakPlan {
  /** `pilot`: full size, short slots, two set-ups at a time, to see whether that fits the machine. */
  name: 'full' | 'quick' | 'pilot';
  /** Streams per set-up (split evenly over its servers). */
  streams: number;
  /** Load-generator processes per set-up. */
  clientsPerSetup: number;
  /** Set-ups measured at the same time. */
  parallel: number;
  /** Wall time of one slot (the set-ups run in `ceil(6 / parallel)` slots). */
  slotMs: number;
  perSecond: number;
  payloadBytes: number;
  /** Every `dropEveryMs`, 1 stream in `dropOneIn` drops (a different slice each time). */
  dropEveryMs: number;
  dropOneIn: number;
  sampleEveryMs: number;
  /** Every `gcEvery`-th sample is taken after a forced GC (the flatness figures use only those). */
  gcEvery: number;
  /** The start of each slot kept out of the flatness comparison. */
  warmupMs: number;
  /** When, from the slot's start, Redis is stopped (SIGTERM), and for how long. */
  redisStopAtMs: number;
  redisDownMs: number;
  rampConcurrency: number;
}

/** The pilot's length: 90 s per slot, one drop cycle. */
export const PILOT_MINUTES = 4.5;

export function soakPlan(
  name: SoakPlan['name'],
  minutes: number | undefined,
  parallel: number,
): SoakPlan {
  const quick = name === 'quick';
  const slots = Math.ceil(SETUPS.length / parallel);
  const defaultMinutes = quick ? 2 : name === 'pilot' ? PILOT_MINUTES : 30;
  const slotMs = ((minutes ?? defaultMinutes) * 60_000) / slots;
  const dropEveryMs = quick ? Math.min(12_000, slotMs / 3) : 60_000;
  return {
    name,
    streams: quick ? 500 : 5000,
    clientsPerSetup: 2,
    parallel,
    slotMs,
    perSecond: 10,
    payloadBytes: 128,
    dropEveryMs,
    dropOneIn: 10,
    sampleEveryMs: quick ? 2000 : 5000,
    gcEvery: quick ? 2 : 6,
    warmupMs: quick ? Math.min(10_000, slotMs / 4) : 2 * 60_000,
    redisStopAtMs: Math.round(slotMs / 2 / dropEveryMs) * dropEveryMs + dropEveryMs / 2,
    redisDownMs: quick ? 3000 : 5000,
    rampConcurrency: 100,
  };
}
