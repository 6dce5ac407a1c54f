/**
 * Fan-out and latency on servers that hold their N streams at once, rounds interleaved.
 *
 * Every variant of an adapter (ours, the raw baseline, the peer) holds its N streams at the same
 * time, and each measured round goes to each server in turn, the order rotating from round to
 * round. A busier minute of this shared machine then falls on all of them alike, where one server
 * after the other gave it to whichever ran then. Only the server of the round publishes; the
 * others' streams sit idle.
 */
import { cpuUs, latencyInto, median, round, waitForEvents } from './measure.js';
import type { Plan } from './plan.js';
import type { ServerSample } from './protocol.js';
import { emptyMeasurement, type Measurement } from './results.js';
import type { ServerUnderTest } from './server-under-test.js';
import type { MergedStats, WorkerPool } from './workers.js';

/** A server holding its streams, and where its figures go. */
export interface HeldServer {
  server: ServerUnderTest;
  record: (scenario: string, m: Measurement) => void;
}

export function payloadLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024}KiB` : `${bytes}B`;
}

export function broadcastScenarios(plan: Plan, n: number): string[] {
  return [...plan.payloads.map((p) => `fanout-${n}-${payloadLabel(p)}`), `latency-${n}`];
}

/** The servers in round `r`'s order: the list rotated by `r`. */
export function inTurn<T>(items: readonly T[], r: number): T[] {
  const k = items.length ? r % items.length : 0;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** One publish on one server, read back once its clients counted every event. */
interface Round {
  cpuUs: number;
  /** The part of `cpuUs` spent in the kernel (the socket writes, and loopback's receive path). */
  systemUs: number;
  delivered: number;
  expected: number;
  wallMs: number;
  publishMs: number;
  stats: MergedStats;
  after: ServerSample;
}

async function publishRound(
  pool: WorkerPool,
  server: ServerUnderTest,
  n: number,
  count: number,
  intervalMs: number,
  payload: number,
): Promise<Round> {
  await pool.reset();
  const t0 = performance.now();
  const { before, wallMs: publishMs } = await server.publish(
    count,
    intervalMs,
    payload,
    count * intervalMs + 120_000,
  );
  const wait = await waitForEvents(pool, () => server.crashed, n * count, 120_000);
  const after = await server.sample(false);
  const stats = await pool.stats(true);
  return {
    cpuUs: cpuUs(after) - cpuUs(before),
    systemUs: after.cpuSystemUs - before.cpuSystemUs,
    delivered: wait.counts.events,
    expected: n * count,
    wallMs: performance.now() - t0,
    publishMs,
    stats,
    after,
  };
}

/** A server's rounds of one scenario, summed into one measurement. */
class Tally {
  readonly rounds: Round[] = [];
  private latency: MergedStats['latency'] | undefined;

  add(round: Round) {
    this.rounds.push(round);
    if (this.latency) this.latency.add(round.stats.latency);
    else this.latency = round.stats.latency;
  }

  measurement(n: number): Measurement {
    const m = emptyMeasurement();
    let wallMs = 0;
    let clientCpuUs = 0;
    for (const r of this.rounds) {
      m.delivered += r.delivered;
      m.expected += r.expected;
      m.dropped += r.stats.dropped;
      wallMs += r.wallMs;
      clientCpuUs += r.stats.cpuUserUs + r.stats.cpuSystemUs;
      Object.assign(m.extra, r.after.extra);
    }
    m.connected = n;
    if (this.latency) latencyInto(m, { ...this.rounds[0]!.stats, latency: this.latency });
    m.deliveriesPerSec = wallMs > 0 ? round(m.delivered / (wallMs / 1000), 0) : null;
    m.clientCpuPct = wallMs > 0 ? round((clientCpuUs / 1000 / wallMs) * 100, 1) : null;
    m.extra.rounds = this.rounds.length;
    if (m.dropped > 0) m.error = `${m.dropped} streams dropped`;
    return m;
  }
}

/**
 * Fan-out (`events` back-to-back broadcasts per payload size, `rounds` times; the figure is the
 * median round's CPU per delivered event) then latency (`plan.latency`, split into `rounds`
 * segments), on servers each holding N streams, every round interleaved across the servers.
 */
export async function broadcastTests(
  plan: Plan,
  pool: WorkerPool,
  held: readonly HeldServer[],
  n: number,
  events: number,
  rounds: number,
) {
  // Warm-up, not measured: two rounds' worth. The first broadcasts after connecting run cold code
  // and promote what connecting allocated (ours on uWS at 10,000 streams: 6.5 µs per delivery in
  // the first two rounds, 5.3 in the ones after).
  const warmup = 2 * events;
  for (const { server } of held) await publishRound(pool, server, n, warmup, 0, plan.payloads[0]!);
  for (const payload of plan.payloads) {
    const tallies = new Map(held.map((h) => [h, new Tally()]));
    for (let r = 0; r < rounds; r += 1) {
      for (const h of inTurn(held, r))
        tallies.get(h)!.add(await publishRound(pool, h.server, n, events, 0, payload));
    }
    for (const [h, tally] of tallies) {
      const m = tally.measurement(n);
      const measured = tally.rounds.filter((r) => r.delivered > 0);
      const perEvent = measured.map((r) => r.cpuUs / r.delivered);
      m.cpuUsPerEvent = perEvent.length ? round(median(perEvent), 3) : null;
      m.extra.systemUsPerEvent = perEvent.length
        ? round(median(measured.map((r) => r.systemUs / r.delivered)), 3)
        : 0;
      m.extra.cpuUsPerEventMin = perEvent.length ? round(Math.min(...perEvent), 3) : 0;
      m.extra.cpuUsPerEventMax = perEvent.length ? round(Math.max(...perEvent), 3) : 0;
      perEvent.forEach((us, i) => {
        m.extra[`cpuUsPerEventRound${i + 1}`] = round(us, 3);
      });
      h.record(`fanout-${n}-${payloadLabel(payload)}`, m);
    }
  }
  // Latency at a fixed rate, in `rounds` segments.
  const { rate, seconds, payload } = plan.latency;
  const total = Math.max(1, Math.round(rate * seconds));
  const segments = Math.max(1, Math.min(rounds, total));
  const tallies = new Map(held.map((h) => [h, new Tally()]));
  for (let r = 0; r < segments; r += 1) {
    const count = Math.floor(total / segments) + (r < total % segments ? 1 : 0);
    for (const h of inTurn(held, r))
      tallies.get(h)!.add(await publishRound(pool, h.server, n, count, 1000 / rate, payload));
  }
  for (const [h, tally] of tallies) {
    const m = tally.measurement(n);
    const cpu = tally.rounds.reduce((sum, r) => sum + r.cpuUs, 0);
    const wallMs = tally.rounds.reduce((sum, r) => sum + r.wallMs, 0);
    m.cpuUsPerEvent = m.delivered > 0 ? round(cpu / m.delivered, 3) : null;
    m.extra.publishWallMs = round(
      tally.rounds.reduce((sum, r) => sum + r.publishMs, 0),
      0,
    );
    m.extra.serverCpuPct = wallMs > 0 ? round((cpu / 1000 / wallMs) * 100, 1) : 0;
    h.record(`latency-${n}`, m);
  }
}
