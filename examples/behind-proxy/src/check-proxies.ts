// Runs the five examples behind the proxies `pnpm test` does not cover (Apache, Caddy, Varnish)
// with the same checks as test/behind-proxy.test.ts, and prints the figures the guide quotes.
// Not part of the test suite: these proxies are installed by hand
// (apt-get install -y apache2 caddy varnish).
//
//   pnpm --filter @sse-middleware/example-behind-proxy check-proxies -- apache caddy varnish
//
// Any setup of SETUPS in src/proxies.ts works: nginx, haproxy, and variants such as
// haproxy-without-no-delay, nginx-gzip, nginx-http2, nginx-default-buffering, apache-deflate,
// caddy-encode, varnish-pipe, varnish-gzip.
// Exits 1 when a check fails (median latency of 7 events 50 ms or more, an idle stream cut,
// a wrong replay), after printing every result.
import { holdIdle, measureLatency, replayThrough, timeUntilCut } from './checks.js';
import { EXAMPLES, type RunningExample, startExample } from './examples.js';
import {
  HAND_CHECKED_PROXIES,
  type RunningProxy,
  SETUPS,
  type SetupName,
  startProxy,
} from './proxies.js';

const HEARTBEAT_MS = 500;
const IDLE_TIMEOUT_SECONDS = 2;
const HOLD_MS = 3 * IDLE_TIMEOUT_SECONDS * 1000;
const LATENCY_LIMIT_MS = 50;

const args = process.argv.slice(2).filter((arg) => arg !== '--');
const names = args.length > 0 ? args : [...HAND_CHECKED_PROXIES];
for (const name of names) {
  if (!(name in SETUPS)) {
    console.error(
      `unknown setup ${JSON.stringify(name)}; known: ${Object.keys(SETUPS).join(', ')}`,
    );
    process.exit(2);
  }
}
const failures: string[] = [];
const rows: string[] = [];
const notes: string[] = [];
const started: { stop(): Promise<unknown> }[] = [];

async function main() {
  console.log(`${new Date().toISOString()}, node ${process.version}: ${names.join(', ')}`);
  const examples: RunningExample[] = [];
  for (const name of EXAMPLES) {
    const example = await startExample(name, { heartbeatMs: HEARTBEAT_MS });
    started.push(example);
    examples.push(example);
  }
  const silent = await startExample('node-http', { heartbeatMs: 0 });
  started.push(silent);
  for (const name of names as SetupName[]) {
    try {
      await check(name, examples, silent);
    } catch (error) {
      failures.push(`${name}: ${(error as Error).stack ?? error}`);
    }
  }
  console.log(
    `\n| setup | example | event latency, median of 7 (ms) | range (ms) | idle stream held ${HOLD_MS / 1000} s, idle timeout ${IDLE_TIMEOUT_SECONDS} s, heartbeat ${HEARTBEAT_MS} ms | Last-Event-ID replay |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  for (const note of notes) console.log(`\n${note}`);
}

async function check(name: SetupName, examples: RunningExample[], silent: RunningExample) {
  const setup = SETUPS[name];
  const { client } = setup;
  const options = {
    idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS,
    ...('transform' in setup ? { transform: setup.transform } : {}),
  };
  const proxies: RunningProxy[] = [];
  const stopAll = () => Promise.all(proxies.map((proxy) => proxy.stop()));
  try {
    for (const example of examples) {
      proxies.push(await startProxy(setup.proxy, { ...options, upstreamPort: example.port }));
    }
    const control = await startProxy(setup.proxy, { ...options, upstreamPort: silent.port });
    proxies.push(control);
    // The idle holds run side by side; latency and replay one pair after another.
    const [cutAfter, ...idle] = await Promise.all([
      timeUntilCut(control.url, HOLD_MS, client),
      ...examples.map((_, i) => holdIdle(proxies[i]!.url, HOLD_MS, { client })),
    ]);
    for (const [i, example] of examples.entries()) {
      const url = proxies[i]!.url;
      const where = `${name} × ${example.name}`;
      const latency = await measureLatency(url, { client, tag: `latency via ${name}` });
      const replay = await replayThrough(url, { client, tag: `replay via ${name}` });
      const held = idle[i] as Awaited<ReturnType<typeof holdIdle>>;
      const replayOk =
        JSON.stringify(replay.replayed) === JSON.stringify(replay.published.slice(1)) &&
        replay.live?.id === replay.liveId &&
        replay.all.length === 3;
      const idleOk = !held.ended && held.deliveredInMs !== undefined;
      if (latency.median >= LATENCY_LIMIT_MS) {
        failures.push(
          `${where}: median latency ${latency.median} ms (${latency.samples.join(', ')})`,
        );
      }
      if (!idleOk) failures.push(`${where}: the idle stream ended after ${held.heldMs} ms`);
      if (!replayOk) failures.push(`${where}: replay ${JSON.stringify(replay)}`);
      const idleText = idleOk
        ? `open, ${held.heartbeats} heartbeats, longest silence ${held.longestSilenceMs} ms`
        : `ENDED after ${held.heldMs} ms`;
      rows.push(
        `| ${name} | ${example.name} | ${latency.median} | ${latency.best}–${latency.worst} | ${idleText} | ${replayOk ? 'exact' : 'WRONG'} |`,
      );
      console.log(rows.at(-1));
    }
    const probe = await client.open(proxies[0]!.url);
    const encoding = probe.contentEncoding ?? 'identity (not asked)';
    probe.destroy();
    notes.push(
      `${name} (${setup.change}; ${client.name}; stream Content-Encoding: ${encoding}): without heartbeats an idle stream was ${
        cutAfter === undefined ? `NOT cut within ${HOLD_MS} ms` : `cut after ${cutAfter} ms`
      }.`,
    );
  } finally {
    await stopAll();
  }
}

try {
  await main();
} catch (error) {
  failures.push(String((error as Error).stack ?? error));
} finally {
  for (const process of started.reverse()) await process.stop().catch(() => {});
}
if (failures.length > 0) {
  console.error(`\nFAILED:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log('\nall checks passed');
