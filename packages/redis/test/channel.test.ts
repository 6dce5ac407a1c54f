import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openStream, type RawStream } from '@sse-middleware/conformance';
import { type Channel, createChannel, REPLAY_GAP_EVENT, uriMatch } from '@sse-middleware/core';
import { sseMiddleware } from '@sse-middleware/node-http';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRedisStore, type RedisStoreOptions } from '../src/index.js';
import {
  adminClient,
  killTailConnection,
  tailListening,
  uniqueKey,
  until,
  useRedisServer,
} from './helpers.js';

const redis = useRedisServer();
/** How long a client may wait for events on a busy machine. */
const WAIT_MS = 15_000;

interface Node {
  readonly url: string;
  /** The stream's key. */
  readonly key: string;
  readonly channel: Channel;
  /** What its store reported (`onError`). */
  readonly reported: readonly Error[];
}

/** One "process": a channel on its own Redis store, served by a node:http server on 127.0.0.1. */
async function startNode(key: string, options: Partial<RedisStoreOptions> = {}): Promise<Node> {
  const reported: Error[] = [];
  const onError = (error: Error) => reported.push(error);
  const store = createRedisStore(
    options.client
      ? { key, onError, ...options }
      : { url: redis.current.url, key, onError, ...options },
  );
  const channel = createChannel({ store });
  const listener = sseMiddleware(
    (_req, res) => {
      res.statusCode = 404;
      res.end();
    },
    { requestMatcher: uriMatch('/events'), source: channel.source(), heartbeat: 0 },
  );
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    await listener.close({ timeout: 1000 });
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    channel.close();
    await store.close();
  });
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, key, channel, reported };
}

/** Two nodes on one stream, each with its tail listening. */
async function startTwoNodes(options: Partial<RedisStoreOptions> = {}) {
  const key = uniqueKey();
  const nodes = [await startNode(key, options), await startNode(key, options)] as const;
  await tailListening(adminClient(redis.current.url), key, 2);
  return nodes;
}

async function subscribe(node: Node, lastEventId?: string): Promise<RawStream> {
  const stream = await openStream(
    `${node.url}/events`,
    lastEventId === undefined ? {} : { headers: { 'Last-Event-ID': lastEventId } },
  );
  onTestFinished(() => stream.destroy());
  return stream;
}

const seen = (stream: RawStream) => stream.events.map((e) => [e.id, e.data]);

describe('a channel on a Redis store, on two servers', () => {
  it('an event published on either server reaches every client of both, once, in the same order, with the same id', async () => {
    const [a, b] = await startTwoNodes();
    const clients = [
      await subscribe(a),
      await subscribe(a),
      await subscribe(b),
      await subscribe(b),
    ];
    const published: [string, string][] = [];
    for (let i = 0; i < 30; i += 1) {
      const { id } = await (i % 3 === 0 ? a : b).channel.publish('message', `event ${i}`);
      published.push([id, `event ${i}`]);
    }
    for (const client of clients) await client.waitForEvents(30, WAIT_MS);
    for (const client of clients) expect(seen(client)).toEqual(published);
    expect(a.channel.stats().published + b.channel.stats().published).toBe(30);
  });

  it('a client that reconnects to the other server with its Last-Event-ID gets exactly what it missed', async () => {
    const [a, b] = await startTwoNodes();
    const first = await subscribe(a);
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push((await a.channel.publish('message', `e${i}`)).id);
    await first.waitForEvents(3, WAIT_MS);
    first.destroy();
    const lastSeen = first.events[2]!.id!;
    for (let i = 5; i < 8; i += 1) ids.push((await b.channel.publish('message', `e${i}`)).id);

    const resumed = await subscribe(b, lastSeen);
    await resumed.waitForEvents(5, WAIT_MS);
    ids.push((await a.channel.publish('message', 'e8')).id);
    await resumed.waitForEvents(6, WAIT_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(resumed.events.map((e) => e.id)).toEqual(ids.slice(3));
    expect(resumed.events.map((e) => e.data)).toEqual(['e3', 'e4', 'e5', 'e6', 'e7', 'e8']);
  });

  it('a Last-Event-ID older than what Redis keeps gets a replay-gap event, then what is kept', async () => {
    const [a, b] = await startTwoNodes({ trim: { maxLength: 3, exact: true } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) ids.push((await a.channel.publish('message', `e${i}`)).id);
    const resumed = await subscribe(b, ids[0]);
    const [gap, ...replayed] = await resumed.waitForEvents(4, WAIT_MS);
    expect(gap?.event).toBe(REPLAY_GAP_EVENT);
    expect(JSON.parse(gap!.data)).toEqual({
      lastEventId: ids[0],
      oldestRetainedId: ids[3],
      reason: 'not-retained',
    });
    expect(replayed.map((e) => e.id)).toEqual(ids.slice(3));
  });

  it('a client joining a server whose tail is behind gets each event once: replayed or live, never both', async () => {
    const key = uniqueKey();
    const admin = adminClient(redis.current.url);
    const a = await startNode(key);
    await tailListening(admin, key, 1);
    // B's connections come back a second after they are lost (its tail duplicates this client).
    const slowClient = new Redis(redis.current.url, { retryStrategy: () => 1000 });
    onTestFinished(() => slowClient.disconnect());
    const b = await startNode(key, { client: slowClient });
    await tailListening(admin, key, 2);
    const watcher = await subscribe(b);
    const first = (await a.channel.publish('message', 'one')).id;
    const second = (await a.channel.publish('message', 'two')).id;
    await watcher.waitForEvents(2, WAIT_MS);

    // B's tail loses its connection; A publishes; a client joins B from the first event while
    // B's tail has not read the new one yet.
    await killTailConnection(admin, key);
    const third = (await a.channel.publish('message', 'three')).id;
    const joined = await subscribe(b, first);
    await until(() => b.channel.stats().subscribers === 2, 'the joining client to be live');

    await tailListening(admin, key, 2);
    await watcher.waitForEvents(3, WAIT_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(joined.events.map((e) => e.id)).toEqual([second, third]);
    expect(watcher.events.map((e) => e.id)).toEqual([first, second, third]);
    expect(b.reported.map((e) => e.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^the tail of "${key}" lost Redis \\(.+\\); it resumes after ${second}`),
      ),
    ]);
    expect(a.reported).toEqual([]);
  });

  it('a client that got events from one server resumes on another whose tail is behind them: no duplicate', async () => {
    const key = uniqueKey();
    const admin = adminClient(redis.current.url);
    const a = await startNode(key);
    // B's connections come back a second after they are lost (its tail duplicates this client).
    const slowClient = new Redis(redis.current.url, { retryStrategy: () => 1000 });
    onTestFinished(() => slowClient.disconnect());
    const b = await startNode(key, { client: slowClient });
    await tailListening(admin, key, 2);
    const onA = await subscribe(a);

    // B's tail loses its connection; the client gets three events from A, then A goes away and
    // the client resumes on B, which has not read those three yet.
    await killTailConnection(admin, key);
    const ids: string[] = [];
    for (const data of ['one', 'two', 'three'])
      ids.push((await a.channel.publish('message', data)).id);
    await onA.waitForEvents(3, WAIT_MS);
    onA.destroy();
    const resumed = await subscribe(b, ids[2]);
    await until(() => b.channel.stats().subscribers === 1, 'the resumed client to be live');

    await tailListening(admin, key, 2);
    const four = (await a.channel.publish('message', 'four')).id;
    await resumed.waitForEvents(1, WAIT_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen(resumed)).toEqual([[four, 'four']]);
  });

  it('clients joining with a Last-Event-ID while both servers publish get every event once', async () => {
    const [a, b] = await startTwoNodes();
    const watcher = await subscribe(a);
    const published: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing && i < 400; i += 1) {
        published.push((await (i % 2 ? a : b).channel.publish('message', `p${i}`)).id);
      }
    })();
    const joined: RawStream[] = [];
    for (let j = 0; j < 8; j += 1) {
      await watcher.waitForEvents(5 * (j + 1), WAIT_MS);
      const from = watcher.events[5 * j + 2]!.id!;
      joined.push(await subscribe(j % 2 ? a : b, from));
    }
    publishing = false;
    await publisher;
    await watcher.waitForEvents(published.length, WAIT_MS);
    expect(watcher.events.map((e) => e.id)).toEqual(published);
    for (const [j, stream] of joined.entries()) {
      const expected = published.slice(5 * j + 3);
      await stream.waitForEvents(expected.length, WAIT_MS);
      expect(stream.events.map((e) => e.id)).toEqual(expected);
    }
  });
});

describe('a Last-Event-ID the stream never issued gets a replay-gap event (unknown-epoch), then every retained event', () => {
  /** Publishes `data` one after another on `node`; resolves with their ids. */
  async function publishAll(node: Node, ...data: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const text of data) ids.push((await node.channel.publish('message', text)).id);
    return ids;
  }

  /** Resumes on `node` from `lastEventId`: the gap event's data, then the ids and data replayed. */
  async function resumeWithGap(node: Node, lastEventId: string, replayed: number) {
    const stream = await subscribe(node, lastEventId);
    const [gap] = await stream.waitForEvents(1 + replayed, WAIT_MS);
    expect(gap?.event).toBe(REPLAY_GAP_EVENT);
    // Nothing more comes (no event twice).
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { gap: JSON.parse(gap!.data) as unknown, events: seen(stream).slice(1) };
  }

  it('from before the stream was deleted (DEL) and published to again', async () => {
    const [a, b] = await startTwoNodes();
    const old = await publishAll(a, 'old 1', 'old 2');
    await adminClient(redis.current.url).del(a.key);
    const fresh = await publishAll(a, 'new 1', 'new 2');
    const { gap, events } = await resumeWithGap(b, old[1]!, 2);
    expect(gap).toEqual({
      lastEventId: old[1],
      oldestRetainedId: fresh[0],
      reason: 'unknown-epoch',
    });
    expect(events).toEqual([
      [fresh[0], 'new 1'],
      [fresh[1], 'new 2'],
    ]);
  });

  it('from before the stream was deleted, when nothing was published since: then live events', async () => {
    const [a, b] = await startTwoNodes();
    const [old] = await publishAll(a, 'old');
    await adminClient(redis.current.url).del(a.key);
    const stream = await subscribe(b, old);
    const [gap] = await stream.waitForEvents(1, WAIT_MS);
    expect(JSON.parse(gap!.data)).toEqual({
      lastEventId: old,
      oldestRetainedId: null,
      reason: 'unknown-epoch',
    });
    await until(() => b.channel.stats().subscribers === 1, 'the client to be live');
    const [live] = await publishAll(a, 'live');
    await stream.waitForEvents(2, WAIT_MS);
    expect(seen(stream).slice(1)).toEqual([[live, 'live']]);
  });

  it('from before FLUSHALL', async () => {
    const [a, b] = await startTwoNodes();
    const [old] = await publishAll(a, 'old');
    await adminClient(redis.current.url).flushall();
    const fresh = await publishAll(b, 'new 1', 'new 2');
    const { gap, events } = await resumeWithGap(a, old!, 2);
    expect(gap).toEqual({ lastEventId: old, oldestRetainedId: fresh[0], reason: 'unknown-epoch' });
    expect(events.map(([id]) => id)).toEqual(fresh);
  });

  it('from another stream, even one whose ids fall among this stream’s (no silent skip)', async () => {
    const [a, b] = await startTwoNodes();
    const other = await startNode(uniqueKey());
    const first = await publishAll(a, 'one', 'two');
    const [foreign] = await publishAll(other, 'elsewhere');
    const last = await publishAll(a, 'three', 'four');
    const { gap, events } = await resumeWithGap(b, foreign!, 4);
    expect(gap).toEqual({
      lastEventId: foreign,
      oldestRetainedId: first[0],
      reason: 'unknown-epoch',
    });
    expect(events.map(([, data]) => data)).toEqual(['one', 'two', 'three', 'four']);
    expect(events.map(([id]) => id)).toEqual([...first, ...last]);
  });

  it('from the future of this stream', async () => {
    const [a, b] = await startTwoNodes();
    const ids = await publishAll(a, 'one', 'two');
    const [epoch, entry] = ids[1]!.split('.') as [string, string];
    const future = `${epoch}.${Number(entry.split('-')[0]) + 60_000}-0`;
    const { gap, events } = await resumeWithGap(b, future, 2);
    expect(gap).toEqual({ lastEventId: future, oldestRetainedId: ids[0], reason: 'unknown-epoch' });
    expect(events.map(([id]) => id)).toEqual(ids);
  });

  it('from the in-memory store (a process that ran without Redis)', async () => {
    const memory = createChannel();
    const { id: memoryId } = await memory.publish('message', 'in memory');
    const [a, b] = await startTwoNodes();
    const ids = await publishAll(a, 'one', 'two');
    const { gap, events } = await resumeWithGap(b, memoryId, 2);
    expect(gap).toEqual({
      lastEventId: memoryId,
      oldestRetainedId: ids[0],
      reason: 'unknown-epoch',
    });
    expect(events.map(([id]) => id)).toEqual(ids);
  });
});
