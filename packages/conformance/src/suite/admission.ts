import { uriMatch } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { fetchRaw, openStream, type RawStream } from '../http-client.js';
import { serve } from './context.js';

const streamOptions = { requestMatcher: uriMatch('/events'), heartbeat: 0 } as const;

/** A source that stays open until the client leaves. */
const held = () => ({
  async *[Symbol.asyncIterator]() {
    yield { data: 'open' };
    await new Promise(() => {});
  },
});

export function admissionTests(harness: ConformanceHarness): void {
  it('allowedOrigins: a foreign Origin gets a 403 and no stream; listed, same and absent origins stream', async () => {
    const server = await serve(harness, {
      ...streamOptions,
      source: held,
      allowedOrigins: ['https://app.example', 'same-origin'],
    });
    const foreign = await fetchRaw(`${server.url}/events`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['content-type'] ?? '').not.toMatch(/event-stream/);
    const host = new URL(server.url).host;
    const streams: RawStream[] = [];
    try {
      const cases: Record<string, string>[] = [
        { origin: 'https://app.example' },
        { origin: `http://${host}` },
        {},
      ];
      for (const headers of cases) {
        const stream = await openStream(`${server.url}/events`, { headers });
        streams.push(stream);
        expect(stream.status, JSON.stringify(headers)).toBe(200);
        await stream.waitForEvents(1);
      }
    } finally {
      for (const stream of streams) stream.destroy();
    }
  });

  it('allowedHosts: a Host that does not name the server (DNS rebinding) gets a 403', async () => {
    const server = await serve(harness, {
      ...streamOptions,
      source: held,
      allowedHosts: ['127.0.0.1'],
    });
    const rebound = await fetchRaw(`${server.url}/events`, {
      headers: { host: 'attacker.example' },
    });
    expect(rebound.status).toBe(403);
    const ours = await openStream(`${server.url}/events`);
    expect(ours.status).toBe(200);
    ours.destroy();
  });

  it('rateLimit: a reconnect storm from one key gets 429s with Retry-After; another key still streams; no slot is held', async () => {
    const server = await serve(harness, {
      ...streamOptions,
      source: () => [{ data: 'once' }],
      maxConnections: 5,
      rateLimit: {
        key: (req) => req.headers.get('x-user') ?? undefined,
        capacity: 3,
        refillPerSecond: 0.2,
      },
    });
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 12; i += 1) {
      const answer = await fetchRaw(`${server.url}/events`, { headers: { 'x-user': 'storm' } });
      statuses.push(answer.status);
      if (answer.status === 429) retryAfter = String(answer.headers['retry-after']);
    }
    expect(statuses).toEqual([200, 200, 200, ...Array.from({ length: 9 }, () => 429)]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const other = await fetchRaw(`${server.url}/events`, { headers: { 'x-user': 'calm' } });
    expect(other.status).toBe(200);
    expect(other.body).toContain('data: once');
  });
}
