// One command, a whole cluster: Redis, three different servers sharing one channel through it,
// a round-robin balancer in front of them, and a publisher posting a message every second to a
// random node. Ctrl+C stops everything.
import { EXAMPLE_STREAM_KEY, listenAddress, onShutdown } from '@sse-middleware/example-kit';
import { startBalancer } from './balancer.js';
import { startCluster } from './cluster.js';
import { startPublisher } from './publisher.js';

const { port, host } = listenAddress();
const intervalMs = publishIntervalFromEnv();
let started = false;

const cluster = await startCluster({
  // What a node says once running (its Redis errors, say); not its own banner of curl commands.
  onLine: (server, line) => {
    if (started && !/^\s+curl /.test(line)) console.log(`[${server}] ${line}`);
  },
});
const balancer = await startBalancer(
  cluster.nodes.map((node) => node.url),
  port,
  host,
).catch(async (error: unknown) => {
  await cluster.stop();
  throw error;
});
const [first, second, third] = cluster.nodes;

console.log(
  `Redis ${cluster.redis.url}, stream "${EXAMPLE_STREAM_KEY}" (append-only file, fsync always)`,
);
for (const node of cluster.nodes) console.log(`  ${node.server.padEnd(9)} ${node.url}`);
console.log(`  balancer  ${balancer.url}  (round robin, no sticky sessions)\n`);
console.log(
  'Follow the channel on one node, or through the balancer (each connection goes to the next node):',
);
console.log(`  curl -N ${first!.url}/events`);
console.log(`  curl -N ${balancer.url}/events`);
console.log('Publish through any node: every client of every node gets it once, with the same id:');
console.log(`  curl -d 'hello' ${second!.url}/publish`);
console.log('Resume on another node from the last id you saw: nothing missed, nothing twice:');
console.log(`  curl -N -H 'Last-Event-ID: <id>' ${third!.url}/events`);
console.log(
  `A publisher posts to a random node every ${intervalMs} ms. Ctrl+C stops everything.\n`,
);
console.log(`cluster listening on ${balancer.url}`);
started = true;

const publisher = startPublisher(cluster.nodes, intervalMs, (n, server, result) => {
  if (result.status === 202) console.log(`published #${n} via ${server}: id ${result.id}`);
  else console.log(`publishing #${n} via ${server} failed (${result.status}): ${result.error}`);
});

onShutdown(async () => {
  console.log('stopping the publisher, the balancer, the nodes and Redis…');
  await publisher.stop();
  await balancer.close();
  await cluster.stop();
});

/** `PUBLISH_INTERVAL_MS` (default 1000). */
function publishIntervalFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PUBLISH_INTERVAL_MS;
  if (raw === undefined || raw === '') return 1000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1) {
    throw new TypeError(
      `PUBLISH_INTERVAL_MS must be a whole number of milliseconds >= 1, received ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}
