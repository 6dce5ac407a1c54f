import { wrapDelay } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { fetchRaw, openStream, type RawStream } from '../http-client.js';
import { onStreamEnd, serve, signalled } from './context.js';

const busyBody = (max: number) =>
  `503 Service Unavailable.\n\nNo available streaming connection. Maximum connection limit is: ${max}`;

export function limitTests(harness: ConformanceHarness) {
  it('answers the stream beyond maxConnections with the original 503 and Retry-After', async () => {
    const server = await serve(harness, {
      maxConnections: 2,
      chunkGenerator: wrapDelay(() => ({ data: 'x' }), 100),
    });
    const held = [
      await openStream(`${server.url}/?stream=true`),
      await openStream(`${server.url}/?stream=true`),
    ];
    for (const stream of held) expect(stream.status).toBe(200);
    const third = await fetchRaw(`${server.url}/?stream=true`);
    expect(third.status).toBe(503);
    expect(third.headers['content-type']).toBe('text/plain');
    expect(third.headers['retry-after']).toBe('5');
    expect(third.body).toBe(busyBody(2));
    const plain = await fetchRaw(`${server.url}/`);
    expect(plain.status).toBe(200);
    for (const stream of held) stream.destroy();
  });

  it('defaults to 10 connections, and maxConnections <= 0 means unlimited', async () => {
    const limited = await serve(harness, { chunkGenerator: wrapDelay(() => ({ data: 'x' }), 200) });
    const streams: RawStream[] = [];
    for (let i = 0; i < 10; i += 1) streams.push(await openStream(`${limited.url}/?stream=true`));
    expect(streams.map((s) => s.status)).toEqual(Array(10).fill(200));
    const eleventh = await fetchRaw(`${limited.url}/?stream=true`);
    expect(eleventh.status).toBe(503);
    expect(eleventh.body).toBe(busyBody(10));

    const unlimited = await serve(harness, {
      maxConnections: 0,
      chunkGenerator: wrapDelay(() => ({ data: 'x' }), 200),
    });
    for (let i = 0; i < 15; i += 1) streams.push(await openStream(`${unlimited.url}/?stream=true`));
    expect(streams.slice(10).every((s) => s.status === 200)).toBe(true);
    for (const stream of streams) stream.destroy();
  });

  it('frees the slot as soon as the client disconnects', async () => {
    const aborted = signalled();
    const server = await serve(harness, {
      maxConnections: 1,
      chunkGenerator: wrapDelay((_req, ctx) => {
        onStreamEnd(ctx, () => aborted.resolve());
        return { data: 'x' };
      }, 50),
    });
    const first = await openStream(`${server.url}/?stream=true`);
    await first.waitForEvents(1);
    const refused = await fetchRaw(`${server.url}/?stream=true`);
    expect(refused.status).toBe(503);
    first.destroy();
    await aborted.promise;
    const second = await openStream(`${server.url}/?stream=true`);
    expect(second.status).toBe(200);
    await second.waitForEvents(1);
    second.destroy();
  });
}
