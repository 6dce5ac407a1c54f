import { openStream, type RawStream } from '@sse-middleware/conformance';
import { EXAMPLE_STREAM_KEY } from '@sse-middleware/example-kit';
import { Redis } from 'ioredis';
import { onTestFinished } from 'vitest';
import { type Cluster, startCluster } from '../src/cluster.js';

export { publish } from '../src/publisher.js';

/** A cluster (Redis and three nodes) stopped when the test finishes, with every tail listening. */
export async function clusterForTest(): Promise<Cluster & { readonly admin: Redis }> {
  const cluster = await startCluster();
  const admin = new Redis(cluster.redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  admin.on('error', () => {});
  onTestFinished(async () => {
    admin.disconnect();
    await cluster.stop();
  });
  await tailsListening(admin, cluster.nodes.length);
  return Object.assign(cluster, { admin });
}

/** `count` nodes have their channel's tail blocked in `XREAD`: they fan out what comes next. */
export async function tailsListening(admin: Redis, count: number, timeoutMs = 20_000) {
  await until(
    async () => {
      const list = (await admin.call('CLIENT', 'LIST')) as string;
      return (
        list
          .split('\n')
          .filter((line) => line.includes(` name=sse-tail:${EXAMPLE_STREAM_KEY} `))
          .filter((line) => / flags=b /.test(line) && / cmd=xread /.test(line)).length >= count
      );
    },
    `${count} tails blocked in XREAD`,
    timeoutMs,
  );
}

/**
 * The SSE id of every entry of the example stream, oldest first: `<epoch>.<entry id>`, the epoch
 * being the one the store keeps in each entry (see packages/redis/README.md).
 */
export async function streamIds(admin: Redis): Promise<string[]> {
  return (await admin.xrange(EXAMPLE_STREAM_KEY, '-', '+')).map(([id, fields]) => {
    const at = fields.indexOf('epoch');
    return at >= 0 && at % 2 === 0 ? `${fields[at + 1]}.${id}` : id;
  });
}

/** Resolves once `check()` holds, checking every 10 ms; rejects after `timeoutMs` naming `what`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * An EventSource-like client of `GET /events`: when its stream ends (its node died) it reconnects
 * at once to the next URL of `fallbacks` with the `Last-Event-ID` it last received.
 */
export interface FollowingClient {
  /** The ids and data of every event received, over every connection, in order. */
  readonly events: readonly { id: string; data: string }[];
  /** The URL of each connection it made, first one first. */
  readonly connections: readonly string[];
  /** The `Last-Event-ID` each reconnection sent. */
  readonly resumedFrom: readonly string[];
  /** Why a reconnection failed, if one did. */
  readonly failure: Error | undefined;
}

export async function followingClient(
  nodeUrl: string,
  fallbacks: readonly string[] = [],
): Promise<FollowingClient> {
  const streams: RawStream[] = [];
  const connections: string[] = [];
  const resumedFrom: string[] = [];
  let stopped = false;
  let failure: Error | undefined;
  let next = 0;
  const events = () =>
    streams.flatMap((stream) =>
      stream.events.filter((e) => e.id !== undefined).map((e) => ({ id: e.id!, data: e.data })),
    );

  async function connect(url: string, lastEventId?: string): Promise<void> {
    const headers: Record<string, string> = lastEventId ? { 'Last-Event-ID': lastEventId } : {};
    const stream = await openStream(`${url}/events`, { headers });
    if (stream.status !== 200) throw new Error(`GET ${url}/events answered ${stream.status}`);
    streams.push(stream);
    connections.push(url);
    await stream.waitForText((text) => text.includes('retry:'), 15_000);
    void stream.ended.then(() => {
      if (stopped) return;
      const target = fallbacks[next % fallbacks.length];
      next += 1;
      if (!target) {
        failure = new Error(`the stream from ${url} ended and there is no node to go to`);
        return;
      }
      const last = events().at(-1)?.id;
      if (last) resumedFrom.push(last);
      connect(target, last).catch((error: unknown) => {
        failure = error as Error;
      });
    });
  }

  await connect(nodeUrl);
  onTestFinished(() => {
    stopped = true;
    for (const stream of streams) stream.destroy();
  });
  return {
    get events() {
      return events();
    },
    connections,
    resumedFrom,
    get failure() {
      return failure;
    },
  };
}

export { openStream };
