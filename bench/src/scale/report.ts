/** docs/benchmarks-scale.md and bench/results/scale.json (`--quick`: bench/results/scale-quick.*). */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { n, num, pairs, table } from '../report/format.js';
import { SOCKET_CACHES } from './kernel.js';
import { headline, SCALE_JSON, SCALE_MARKDOWN, type ScaleResult } from './result.js';

const repoRoot = join(dirname(SCALE_JSON), '..', '..');
const kib = (bytes: number, digits = 2) => num(bytes / 1024, digits);
const mib = (bytes: number) => num(bytes / 1024 / 1024, 1);

export async function writeScaleReport(result: ScaleResult, quick: boolean): Promise<string[]> {
  const json = quick ? join(dirname(SCALE_JSON), 'scale-quick.json') : SCALE_JSON;
  const markdown = quick ? join(dirname(SCALE_JSON), 'scale-quick.md') : SCALE_MARKDOWN;
  await mkdir(dirname(json), { recursive: true });
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(markdown, renderScale(result, relative(repoRoot, json)));
  return [json, markdown].map((file) => relative(repoRoot, file));
}

export function renderScale(result: ScaleResult, jsonPath: string): string {
  const { plan, machine, ramp, servers, kernel, broadcasts, all } = result;
  const h = headline(result);
  const k = kernel.perStream;
  const calls = Object.entries(result.redisCallsPerEvent)
    .map(([name, count]) => `${name.toUpperCase()} ${count}`)
    .join(', ');
  const summary = pairs(['', ''], {
    streams: `${n(h.streams)} over ${h.servers} server processes (${plan.servers.join(', ')}), one channel on one Redis stream`,
    delivery: `${n(all.delivered)}/${n(all.expected)} (${h.complete ? '100%' : '**incomplete**'}) over ${plan.broadcasts} broadcasts`,
    'broadcast to all, p50 / p99 (median of the broadcasts)': `${num(h.medianP50Ms, 1)} / ${num(h.medianP99Ms, 1)} ms (worst p99 ${num(h.worstP99Ms, 1)} ms)`,
    'all deliveries pooled, p50 / p99 / p99.9 / max': `${num(all.p50Ms, 1)} / ${num(all.p99Ms, 1)} / ${num(all.p999Ms, 1)} / ${num(all.maxMs, 1)} ms`,
    'server RSS per stream (after GC)': `${num(h.serverRssPerStreamKiB)} KiB`,
    'kernel per stream (both ends, loopback)': `${num(h.kernelPerStreamKiB)} KiB (${num(k.tcpSockets)} TCP sockets per stream: ${num(h.kernelPerEndKiB)} KiB per connection end)`,
    'server CPU per delivery (all servers, one core)': `${num(result.serverCpuUsPerDelivery)} µs`,
    'load-generator CPU per delivery (one core)': `${num(result.clientCpuUsPerDelivery)} µs`,
    'Redis commands per published event': calls || '–',
    'ramp (streams opened server by server)': `${num(ramp.wallMs / 1000, 1)} s, connect p50 ${num(ramp.connectP50Ms)} / p99 ${num(ramp.connectP99Ms)} ms, ${ramp.errors} errors`,
  });
  const setup = pairs(['', ''], {
    date: result.date,
    command: `\`${result.command}\``,
    duration: `${result.durationS} s`,
    ...Object.fromEntries(Object.entries(machine).map(([key, value]) => [key, String(value)])),
    'load generators': `${plan.generators} processes, ${n(Math.ceil(plan.streams / plan.generators))} sockets each, bound round robin to ${plan.sourceAddresses} source addresses (127.0.0.2–127.0.0.${plan.sourceAddresses + 1}); ramp ${plan.rampConcurrency} connects at once per generator`,
    broadcasts: `${plan.warmup} unmeasured, then ${plan.broadcasts} measured: one ${plan.payloadBytes} B event published on server 0, the next ${plan.gapMs} ms after every stream has the previous one`,
  });
  const perBroadcast = table(
    [
      ['#', (b) => String(broadcasts.indexOf(b) + 1)],
      ['delivered', (b) => `${n(b.delivered)}/${n(b.expected)}`],
      ['p50 ms', (b) => num(b.p50Ms, 1)],
      ['p99 ms', (b) => num(b.p99Ms, 1)],
      ['last delivery ms', (b) => num(b.maxMs, 1)],
      ['server CPU ms', (b) => num(b.serverCpuUs / 1000, 1)],
      ['client CPU ms', (b) => num(b.clientCpuUs / 1000, 1)],
      ['repeated / silent / dropped', (b) => `${b.repeated} / ${b.silent} / ${b.dropped}`],
    ],
    broadcasts,
  );
  const perServer = table(
    [
      ['server', (s) => `${servers.indexOf(s)}: ${s.kind}`],
      ['streams', (s) => n(s.streams)],
      ['RSS MiB (held)', (s) => num(s.rssMiB, 1)],
      ['RSS KiB / stream', (s) => num(s.rssPerStreamKiB)],
      ['heap KiB / stream', (s) => num(s.heapPerStreamKiB)],
      ['CPU µs / delivery', (s) => num(s.cpuUsPerDelivery)],
      ['tail p99 ms', (s) => num(s.tailP99Ms, 1)],
      ['fan-out p99 ms', (s) => num(s.fanOutP99Ms, 1)],
    ],
    servers,
  );
  const snapshots = [
    ['before the streams', kernel.before],
    ['streams held', kernel.held],
    ['after the broadcasts', kernel.afterBroadcasts],
  ] as const;
  const kernelTable = table<(typeof snapshots)[number]>(
    [
      ['', ([label]) => label],
      ['TCP in use', ([, s]) => n(s.tcpInUse)],
      ['TIME_WAIT', ([, s]) => n(s.tcpTimeWait)],
      ['TCP buffers MiB', ([, s]) => mib(s.tcpMemBytes)],
      ['socket caches MiB', ([, s]) => mib(Object.values(s.caches).reduce((a, b) => a + b, 0))],
      ['all slab MiB', ([, s]) => mib(s.slabBytes)],
      ['MemAvailable MiB', ([, s]) => mib(s.availableBytes)],
    ],
    snapshots,
  );
  const caches = table<string>(
    [
      ['slab cache', (name) => `\`${name}\``],
      ['KiB per stream', (name) => kib(k.caches[name] ?? 0, 3)],
    ],
    SOCKET_CACHES.filter((name) => name in k.caches),
  );
  return `# 100,000 concurrent streams on one machine

Generated by \`${result.command}\` on ${result.date.slice(0, 10)}; re-run to refresh, do not edit by hand. Machine-readable: \`${jsonPath}\`. Source: \`bench/src/scale.ts\`; method: [bench/README.md](../bench/README.md#scale). What it means past one machine: [scaling.md](scaling.md).

## Result

${summary}

Latency runs from the publisher's \`process.hrtime.bigint()\` stamp, taken before its \`XADD\`, to a load generator parsing the event (CLOCK_MONOTONIC, one clock for every process): it covers the Redis round trip, every server's \`XREAD\` tail and local fan-out, and the clients reading. All servers and redis-server share one core, so a broadcast's last delivery is about the CPU of all the fan-outs on that core; the load generators parse on the other.

## Set-up

${setup}

## Each broadcast

${perBroadcast}

## Each server

RSS and heap after forced GC with the streams held, minus the same process before any stream; CPU from \`process.cpuUsage()\` over the measured broadcasts. Tail and fan-out timings (node-http servers only, \`bench/src/server/store.ts\`): from the publisher's stamp to this server's tail handing the event to its channel, and from there to its last socket write.

${perServer}

## Kernel memory

Machine-wide, so other processes' sockets move these figures too (TIME_WAIT shows how busy the machine was). Per stream is *streams held* minus *before the streams*, divided by ${n(h.streams)}; on loopback each stream is two TCP sockets (client and server end), so a server node carries about half.

${kernelTable}

${caches}

Socket caches: ${kib(k.cachesBytes)} KiB per stream; TCP buffers (sockstat \`mem\`): ${kib(k.tcpMemBytes)} KiB per stream; all slab: ${kib(k.slabBytes)} KiB per stream; MemAvailable (everything: servers, load generators, kernel): ${kib(k.machineBytes)} KiB per stream.

## Failures

${result.failures.length ? result.failures.map((f) => `- ${f}`).join('\n') : 'None: every stream got every event exactly once and no server crashed.'}
`;
}
