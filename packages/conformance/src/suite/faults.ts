import type { Chunk, ChunkGenerator, StreamContext } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { fetchRaw, openStream, type RawStream, until } from '../http-client.js';
import { errorRecorder, serve, tickEvery } from './context.js';

/** Counts streams whose generator started and streams whose context aborted. */
function lifecycleCounter(generate: ChunkGenerator) {
  const started = new WeakSet<StreamContext>();
  const counts = { opened: 0, aborted: 0 };
  const chunkGenerator: ChunkGenerator = (req, ctx) => {
    if (!started.has(ctx)) {
      started.add(ctx);
      counts.opened += 1;
      ctx.signal.addEventListener('abort', () => {
        counts.aborted += 1;
      });
    }
    return generate(req, ctx);
  };
  return { counts, chunkGenerator };
}

/** Libuv handles of this process by kind (sockets, timers): what a leak would leave behind. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

const tick = tickEvery(100);

async function openMany(url: string, count: number): Promise<RawStream[]> {
  const streams: RawStream[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = Array.from({ length: Math.min(200, count - i) }, () => openStream(url));
    streams.push(...(await Promise.all(batch)));
  }
  return streams;
}

export function faultTests(harness: ConformanceHarness) {
  it('frees every slot and leaves no sockets or timers after 2,000 clients disconnect at once', async () => {
    const clients = 2000;
    // One event a second per stream keeps a timer pending on each (what a leak would leave behind)
    // without making this a throughput test of the machine.
    const { counts, chunkGenerator } = lifecycleCounter(tickEvery(1000));
    const server = await serve(harness, { maxConnections: clients, chunkGenerator });
    const before = handles();
    const streams = await openMany(`${server.url}/?stream=true`, clients);
    expect(streams.filter((s) => s.status === 200)).toHaveLength(clients);
    await until(() => counts.opened === clients, 'every stream to start', 45_000);
    for (const stream of streams) stream.destroy();
    await until(
      () => counts.aborted === clients,
      `every stream to see its client leave (${counts.aborted}/${clients})`,
      45_000,
    );
    await until(
      () =>
        (handles().TCPSocketWrap ?? 0) <= (before.TCPSocketWrap ?? 0) &&
        (handles().Timeout ?? 0) <= (before.Timeout ?? 0),
      `sockets and timers to return to their baseline (before ${JSON.stringify(before)}, now ${JSON.stringify(handles())})`,
      15_000,
    );
    const again = await openMany(`${server.url}/?stream=true`, clients);
    expect(again.filter((s) => s.status === 200)).toHaveLength(clients);
    for (const stream of again) stream.destroy();
  }, 180_000);

  it('survives clients that abort in the middle of a large write, without reporting errors', async () => {
    const { errors, onError } = errorRecorder();
    const big = { data: 'y'.repeat(1024 * 1024) };
    const { counts, chunkGenerator } = lifecycleCounter(() => big);
    const server = await serve(harness, { maxConnections: 5, onError, chunkGenerator });
    for (let round = 0; round < 5; round += 1) {
      const streams = await Promise.all(
        Array.from({ length: 5 }, () => openStream(`${server.url}/?stream=true`)),
      );
      await Promise.all(streams.map((s) => s.waitForText((t) => t.length > 100_000, 10_000)));
      for (const stream of streams) stream.destroy();
      await until(() => counts.aborted === counts.opened, 'the aborted streams to end', 10_000);
    }
    expect(errors).toEqual([]);
    expect((await fetchRaw(`${server.url}/`)).status).toBe(200);
  }, 60_000);

  it('answers a connect storm far above maxConnections with 503s only beyond the limit, and leaks no slot', async () => {
    const limit = 50;
    const { counts, chunkGenerator } = lifecycleCounter(tick);
    const server = await serve(harness, { maxConnections: limit, chunkGenerator });
    const storm = await Promise.all(
      Array.from({ length: 1000 }, () => openStream(`${server.url}/?stream=true`)),
    );
    const statuses = storm.map((s) => s.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(limit);
    expect(statuses.filter((s) => s === 503)).toHaveLength(1000 - limit);
    for (const stream of storm) stream.destroy();
    await until(() => counts.aborted === counts.opened, 'the held streams to end', 10_000);
    const after = await Promise.all(
      Array.from({ length: limit }, () => openStream(`${server.url}/?stream=true`)),
    );
    expect(after.every((s) => s.status === 200)).toBe(true);
    for (const stream of after) stream.destroy();
  }, 60_000);

  it('frees the slot of a generator that hangs forever when its client leaves', async () => {
    const { counts, chunkGenerator } = lifecycleCounter(() => new Promise<Chunk>(() => {}));
    const server = await serve(harness, { maxConnections: 1, chunkGenerator });
    const hung = await openStream(`${server.url}/?stream=true`);
    expect(hung.status).toBe(200);
    expect((await fetchRaw(`${server.url}/?stream=true`)).status).toBe(503);
    hung.destroy();
    await until(() => counts.aborted === 1, 'the hung stream to see its client leave');
    const next = await openStream(`${server.url}/?stream=true`);
    expect(next.status).toBe(200);
    next.destroy();
  });

  for (const [what, chunk, message] of [
    [
      'a number',
      42,
      /A chunk must be a string, an SSE event object, a Uint8Array or undefined, received 42 \(number\)/,
    ],
    ['an object that is not an event', { payload: 1 }, /A chunk must be/],
    [
      'an event the encoder refuses',
      { id: 'a\nevent: injected', data: 'x' },
      /SSE field "id" must not contain CR, LF or NUL/,
    ],
  ] as const) {
    it(`ends with an error event, writing nothing of it, when the generator returns ${what}`, async () => {
      const { errors, onError } = errorRecorder();
      let calls = 0;
      const server = await serve(harness, {
        onError,
        chunkGenerator: () => {
          calls += 1;
          return (calls === 1 ? { data: 'fine' } : chunk) as Chunk;
        },
      });
      const stream = await openStream(`${server.url}/?stream=true`);
      await stream.ended;
      expect(stream.events.map((e) => e.event ?? 'message')).toEqual(['message', 'error']);
      expect(stream.events[1]?.data).toMatch(message);
      expect(stream.text).not.toMatch(/^event: injected/m);
      expect(stream.text).not.toMatch(/^id:/m);
      expect(errors).toHaveLength(1);
    });
  }
}
