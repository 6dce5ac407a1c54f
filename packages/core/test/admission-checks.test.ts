import { describe, expect, it } from 'vitest';
import { createRequestView, createSseEngine } from '../src/adapter.js';
import { createRateLimiter } from '../src/engine/rate-limiter.js';
import type { SseOptions } from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';
import { thrown } from './support/util.js';

const request = (headers: Record<string, string>) =>
  createRequestView({ method: 'GET', url: '/?stream=true', headers });

async function statusOf(options: SseOptions, headers: Record<string, string>) {
  const engine = createSseEngine({ source: () => [{ data: 'x' }], heartbeat: 0, ...options });
  const sink = new MemorySink();
  await engine.serve(request(headers), sink);
  return { status: sink.status, text: sink.text, engine };
}

describe('allowedOrigins', () => {
  const allowedOrigins = ['https://app.example', 'same-origin'];

  it('refuses a foreign Origin with a 403 before anything else, and passes listed, same and no origin', async () => {
    const foreign = await statusOf(
      { allowedOrigins },
      { origin: 'https://evil.example', host: 'api.example' },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.text).toContain('403 Forbidden');
    expect(foreign.engine.stats()).toMatchObject({ rejected: 1, opened: 0 });
    expect((await statusOf({ allowedOrigins }, { origin: 'https://APP.example' })).status).toBe(
      200,
    );
    expect(
      (
        await statusOf(
          { allowedOrigins },
          { origin: 'http://api.example:8080', host: 'api.example:8080' },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await statusOf(
          { allowedOrigins },
          { origin: 'http://api.example:8081', host: 'api.example:8080' },
        )
      ).status,
    ).toBe(403);
    expect(
      (await statusOf({ allowedOrigins }, { origin: 'null', host: 'api.example' })).status,
    ).toBe(403);
    expect((await statusOf({ allowedOrigins }, { host: 'api.example' })).status).toBe(200);
  });
});

describe('allowedHosts', () => {
  it('refuses a Host that does not name this server (DNS rebinding) with a 403', async () => {
    const allowedHosts = ['localhost', '127.0.0.1:3000', '[::1]'];
    expect((await statusOf({ allowedHosts }, { host: 'localhost:3000' })).status).toBe(200);
    expect((await statusOf({ allowedHosts }, { host: '127.0.0.1:3000' })).status).toBe(200);
    expect((await statusOf({ allowedHosts }, { host: '[::1]:3000' })).status).toBe(200);
    expect((await statusOf({ allowedHosts }, { host: '127.0.0.1:4000' })).status).toBe(403);
    expect((await statusOf({ allowedHosts }, { host: 'attacker.example' })).status).toBe(403);
    expect((await statusOf({ allowedHosts }, {})).status).toBe(403);
  });
});

describe('rateLimit', () => {
  it('gives each key a bucket of new streams: past it a 429 with Retry-After, other keys unaffected', async () => {
    const engine = createSseEngine({
      source: () => [{ data: 'x' }],
      heartbeat: 0,
      rateLimit: {
        key: (req) => req.headers.get('x-user') ?? undefined,
        capacity: 3,
        refillPerSecond: 0.5,
      },
    });
    const open = async (user?: string) => {
      const sink = new MemorySink();
      await engine.serve(request(user ? { 'x-user': user } : {}), sink);
      return sink;
    };
    const storm = [];
    for (let i = 0; i < 10; i += 1) storm.push((await open('a')).status);
    expect(storm).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    const refused = await open('a');
    expect(refused.headers?.['Retry-After']).toBe('2');
    expect(refused.text).toContain('429 Too Many Requests');
    expect((await open('b')).status).toBe(200);
    expect((await open()).status).toBe(200);
    expect(engine.connections.active).toBe(0);
  });

  it('refills at its rate, and forgets buckets that filled up again', () => {
    let time = 0;
    const limiter = createRateLimiter(2, 10, () => time);
    expect([limiter.take('k'), limiter.take('k')]).toEqual([0, 0]);
    expect(limiter.take('k')).toBe(100);
    time = 50;
    expect(limiter.take('k')).toBe(50);
    time = 100;
    expect(limiter.take('k')).toBe(0);
    time = 10_000;
    for (let i = 0; i < 1024; i += 1) limiter.take(`other-${i % 3}`);
    expect(limiter.size).toBeLessThanOrEqual(3);
  });

  it('is checked once when the engine prepares the stream first (a body), not twice', async () => {
    const engine = createSseEngine({
      source: () => [{ data: 'x' }],
      heartbeat: 0,
      body: 'text',
      rateLimit: { key: () => 'k', capacity: 2, refillPerSecond: 0.001 },
    });
    const post = () =>
      createRequestView({ method: 'POST', url: '/', headers: {}, body: { parsed: 'hi' } });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) {
      const sink = new MemorySink();
      const preparation = await engine.prepare(post());
      if (preparation.init) await engine.serve(post(), sink, preparation.init);
      statuses.push(preparation.answer?.status ?? sink.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('validates its options up front', () => {
    expect(
      thrown(() =>
        createSseEngine({
          source: () => [],
          rateLimit: { key: () => 'k', capacity: 0, refillPerSecond: 1 },
        }),
      ).message,
    ).toContain('options.rateLimit.capacity');
    expect(
      thrown(() =>
        createSseEngine({
          source: () => [],
          rateLimit: { key: () => 'k', capacity: 1, refillPerSecond: 0 },
        }),
      ).message,
    ).toContain('options.rateLimit.refillPerSecond');
    expect(
      thrown(() => createSseEngine({ source: () => [], allowedOrigins: [] })).message,
    ).toContain('options.allowedOrigins');
    expect(
      thrown(() => createSseEngine({ source: () => [], allowedHosts: ['a b'] })).message,
    ).toContain('options.allowedHosts');
  });
});
