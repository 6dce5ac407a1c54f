import {
  type Channel,
  createChannel,
  createMemoryStore,
  type EventMap,
  REPLAY_GAP_EVENT,
} from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import {
  afterHeadComment,
  fetchRaw,
  openStream,
  type RawStream,
  sleep,
  until,
} from '../http-client.js';
import { serve } from './context.js';

/** A channel whose store has the fixed epoch `e`, so that its ids read `e.1`, `e.2`… */
const channelOf = <E extends EventMap = EventMap>(limit?: number): Channel<E> =>
  createChannel<E>({
    store: createMemoryStore(limit === undefined ? { epoch: 'e' } : { epoch: 'e', limit }),
  });

const ids = (stream: RawStream) => stream.events.map((e) => e.id);
/** The ids `e.<from>` to `e.<to>`. */
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `e.${from + i}`);
/** The sequence number of an id `e.<n>`. */
const seqOf = (id: string | undefined) => Number(id?.slice('e.'.length));

export function pushTests(harness: ConformanceHarness) {
  it('fans one publish out to many clients, every event in order, encoded once', async () => {
    const channel = channelOf<{ tick: { n: number } }>();
    const server = await serve(harness, { maxConnections: 0, source: channel.source() });
    const clients = await Promise.all(
      Array.from({ length: 50 }, () => openStream(`${server.url}/?stream=true`)),
    );
    await until(() => channel.stats().subscribers === 50, 'every client to subscribe');
    for (let n = 1; n <= 100; n += 1) await channel.publish('tick', { n });
    for (const client of clients) {
      const events = await client.waitForEvents(100);
      expect(events.map((e) => e.id)).toEqual(range(1, 100));
      expect(events.map((e) => JSON.parse(e.data).n)).toEqual(range(1, 100).map(seqOf));
      expect(events.every((e) => e.event === 'tick')).toBe(true);
      client.destroy();
    }
    await until(() => channel.stats().subscribers === 0, 'every subscription to end');
  });

  it('replays what a reconnecting client missed after its Last-Event-ID, then goes live: no gap, no duplicate', async () => {
    const channel = channelOf();
    const server = await serve(harness, { source: channel.source() });
    const first = await openStream(`${server.url}/?stream=true`);
    await until(() => channel.stats().subscribers === 1, 'the subscription');
    for (let n = 1; n <= 10; n += 1) await channel.publish('message', `m${n}`);
    await first.waitForEvents(10);
    first.destroy();
    await until(() => channel.stats().subscribers === 0, 'the first stream to end');
    for (let n = 11; n <= 20; n += 1) await channel.publish('message', `m${n}`);

    const byHeader = await openStream(`${server.url}/?stream=true`, {
      headers: { 'Last-Event-ID': 'e.10' },
    });
    const byQuery = await openStream(`${server.url}/?stream=true&lastEventId=e.15`);
    await until(() => channel.stats().subscribers === 2, 'both reconnections to subscribe');
    for (let n = 21; n <= 25; n += 1) await channel.publish('message', `m${n}`);
    expect((await byHeader.waitForEvents(15)).map((e) => e.data)).toEqual(
      range(11, 25).map((id) => `m${seqOf(id)}`),
    );
    expect((await byQuery.waitForEvents(10)).map((e) => e.id)).toEqual(range(16, 25));
    await sleep(100);
    expect(ids(byHeader)).toEqual(range(11, 25));
    byHeader.destroy();
    byQuery.destroy();
  });

  it('signals a replay gap when the Last-Event-ID is older than the store retains', async () => {
    const channel = channelOf(5);
    const server = await serve(harness, { source: channel.source() });
    for (let n = 1; n <= 20; n += 1) await channel.publish('message', `m${n}`);
    const stream = await openStream(`${server.url}/?stream=true`, {
      headers: { 'Last-Event-ID': 'e.3' },
    });
    const events = await stream.waitForEvents(6);
    expect(events[0]?.event).toBe(REPLAY_GAP_EVENT);
    expect(events[0]?.data).toBe(
      '{"lastEventId":"e.3","oldestRetainedId":"e.16","reason":"not-retained"}',
    );
    expect(events.slice(1).map((e) => e.id)).toEqual(range(16, 20));
    stream.destroy();
  });

  it("signals an 'unknown-epoch' replay gap for a Last-Event-ID from a previous server, then sends the new server's events", async () => {
    // The first run: a server with its own channel (and default store), and a client reading it.
    const before = createChannel();
    const first = await harness.start({ source: before.source() });
    let lastEventId: string | undefined;
    let stopped = false;
    try {
      const client = await openStream(`${first.url}/?stream=true`);
      await until(() => before.stats().subscribers === 1, 'the first subscription');
      for (let n = 1; n <= 3; n += 1) await before.publish('message', `old ${n}`);
      lastEventId = (await client.waitForEvents(3)).at(-1)?.id;
      expect(lastEventId).toMatch(/^[0-9a-z]{8}\.3$/);
      // The restart: the server stops with the client still connected.
      stopped = true;
      await first.close();
      await client.ended;
    } finally {
      if (!stopped) await first.close();
    }
    // The next run: a new server, a new channel, whose store has issued an id 3 too.
    const after = createChannel();
    const server = await serve(harness, { source: after.source() });
    const newIds: string[] = [];
    for (let n = 1; n <= 4; n += 1) newIds.push((await after.publish('message', `new ${n}`)).id);
    expect(newIds[2]).toMatch(/^[0-9a-z]{8}\.3$/);
    expect(newIds[2]).not.toBe(lastEventId);

    const stream = await openStream(`${server.url}/?stream=true`, {
      headers: { 'Last-Event-ID': lastEventId! },
    });
    const events = await stream.waitForEvents(5);
    expect(events[0]?.event).toBe(REPLAY_GAP_EVENT);
    expect(events[0]?.id).toBeUndefined();
    expect(events[0]?.data).toBe(
      JSON.stringify({ lastEventId, oldestRetainedId: newIds[0], reason: 'unknown-epoch' }),
    );
    expect(events.slice(1).map((e) => [e.id, e.data])).toEqual(
      newIds.map((id, i) => [id, `new ${i + 1}`]),
    );
    await until(() => after.stats().subscribers === 1, 'the reconnection to subscribe');
    const { id: live } = await after.publish('message', 'live');
    expect((await stream.waitForEvents(6))[5]?.id).toBe(live);
    stream.destroy();
  });

  it('sends heartbeat comments on an idle stream, and a retry hint first', async () => {
    const channel = createChannel();
    const server = await serve(harness, { source: channel.source(), heartbeat: 100, retry: 2500 });
    const stream = await openStream(`${server.url}/?stream=true`);
    // Heartbeats are lone comment lines and the hint a lone field line: no blank line, no empty event.
    await stream.waitForText((text) => (text.match(/^:\n/gm) ?? []).length >= 4, 5000);
    expect(afterHeadComment(stream.text).startsWith('retry: 2500\n:\n')).toBe(true);
    expect(stream.text).not.toContain('\n\n');
    expect(stream.events).toEqual([]);
    stream.destroy();
  });

  it('disconnects a slow client by default; others keep every event; replay then loses nothing', async () => {
    const channel = channelOf(10_000);
    const closed: string[] = [];
    const server = await serve(harness, {
      source: channel.source(),
      slowConsumer: { maxQueuedBytes: 64 * 1024 },
      hooks: { closed: (_req, reason) => closed.push(reason) },
    });
    const slow = await openStream(`${server.url}/?stream=true`);
    slow.pause();
    const fast = await openStream(`${server.url}/?stream=true`);
    await until(() => channel.stats().subscribers === 2, 'both subscriptions');
    const payload = 'p'.repeat(4096);
    const total = 2000;
    // Bursts of 8 events (32 KiB) stay under the 64 KiB bound for a client that keeps reading.
    for (let n = 1; n <= total; n += 1) {
      await channel.publish('message', `${n}:${payload}`);
      if (n % 8 === 0) await sleep(2);
    }
    expect((await fast.waitForEvents(total, 20_000)).map((e) => e.id)).toEqual(range(1, total));
    await until(
      () => closed.includes('slow-consumer'),
      'the slow client to be disconnected',
      10_000,
    );
    slow.resume();
    await slow.ended;
    const got = ids(slow);
    expect(got).toEqual(range(1, got.length)); // a prefix, in order
    expect(got.length).toBeLessThan(total);
    const resumed = await openStream(`${server.url}/?stream=true`, {
      headers: { 'Last-Event-ID': got.at(-1) ?? 'e.0' },
    });
    const rest = await resumed.waitForEvents(total - got.length, 20_000);
    expect([...got, ...rest.map((e) => e.id!)]).toEqual(range(1, total));
    resumed.destroy();
    fast.destroy();
  }, 60_000);

  it("drops a slow client's oldest events under drop-oldest, keeping its stream and the newest events", async () => {
    const channel = channelOf();
    let droppedBytes = 0;
    const server = await serve(harness, {
      source: channel.source(),
      slowConsumer: { maxQueuedBytes: 64 * 1024, policy: 'drop-oldest' },
      hooks: { dropped: (_req, bytes) => (droppedBytes += bytes) },
    });
    const slow = await openStream(`${server.url}/?stream=true`);
    slow.pause();
    const fast = await openStream(`${server.url}/?stream=true`);
    await until(() => channel.stats().subscribers === 2, 'both subscriptions');
    const payload = 'q'.repeat(4096);
    const total = 2000;
    for (let n = 1; n <= total; n += 1) {
      await channel.publish('message', `${n}:${payload}`);
      if (n % 8 === 0) await sleep(2);
    }
    expect((await fast.waitForEvents(total, 20_000)).length).toBe(total);
    expect(droppedBytes).toBeGreaterThan(0);
    slow.resume();
    await slow.waitForText(() => ids(slow).at(-1) === `e.${total}`, 20_000);
    const got = ids(slow).map(seqOf);
    expect(got.every((id, i) => i === 0 || id > got[i - 1]!)).toBe(true);
    expect(got.length).toBeLessThan(total);
    expect(slow.isEnded).toBe(false);
    slow.destroy();
    fast.destroy();
  }, 60_000);

  it('limits streams per key with a 429 and Retry-After, and frees the key on disconnect', async () => {
    const channel = createChannel();
    const server = await serve(harness, {
      source: channel.source(),
      limitPerKey: { key: (req) => req.headers.get('x-user') ?? undefined, max: 1 },
    });
    const alice = await openStream(`${server.url}/?stream=true`, {
      headers: { 'X-User': 'alice' },
    });
    expect(alice.status).toBe(200);
    const again = await fetchRaw(`${server.url}/?stream=true`, { headers: { 'X-User': 'alice' } });
    expect(again.status).toBe(429);
    expect(again.headers['retry-after']).toBe('5');
    expect(again.body).toBe('429 Too Many Requests.\n\nNo more than 1 streams per client.');
    const bob = await openStream(`${server.url}/?stream=true`, { headers: { 'X-User': 'bob' } });
    expect(bob.status).toBe(200);
    alice.destroy();
    await until(() => channel.stats().subscribers === 1, "alice's stream to end");
    const back = await openStream(`${server.url}/?stream=true`, { headers: { 'X-User': 'alice' } });
    expect(back.status).toBe(200);
    back.destroy();
    bob.destroy();
  });
}
