import { uriMatch, uriPrefixMatch, wrapDelay } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness, EchoBody } from '../harness.js';
import { fetchRaw, openStream } from '../http-client.js';
import { serve } from './context.js';

export function matchingTests(harness: ConformanceHarness) {
  it('streams GET ?stream=true by default and passes everything else to the inner handler untouched', async () => {
    const server = await serve(harness, { chunkGenerator: () => ({ data: 'streamed' }) });

    const stream = await openStream(`${server.url}/?stream=true`);
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    await stream.waitForEvents(1);
    stream.destroy();

    for (const target of [
      '/',
      '/?upstream=true',
      '/?stream=trueish',
      '/?stream=false',
      '/app?a=1&xstream=true2',
    ]) {
      const res = await fetchRaw(`${server.url}${target}`);
      expect(res.status, target).toBe(200);
      expect(res.headers['content-type'], target).toMatch(/^application\/json/);
      const echo = JSON.parse(res.body) as EchoBody;
      expect(echo.path + (echo.query ? `?${echo.query}` : ''), target).toBe(target);
    }
  });

  it('never streams HEAD or POST, even when the query matches', async () => {
    const server = await serve(harness, { chunkGenerator: () => ({ data: 'streamed' }) });
    const post = await fetchRaw(`${server.url}/?stream=true`, { method: 'POST' });
    expect(post.status).toBe(200);
    expect(post.headers['content-type']).toMatch(/^application\/json/);
    expect((JSON.parse(post.body) as EchoBody).method).toBe('POST');
    const head = await fetchRaw(`${server.url}/?stream=true`, { method: 'HEAD' });
    expect(head.headers['content-type'] ?? '').not.toMatch(/event-stream/);
    expect(head.body).toBe('');
  });

  it('streams only what a custom matcher selects (uriMatch)', async () => {
    const server = await serve(harness, {
      requestMatcher: uriMatch('/score'),
      chunkGenerator: wrapDelay(() => ({ data: '180,4' }), 20),
    });
    const stream = await openStream(`${server.url}/score`);
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    const events = await stream.waitForEvents(2);
    expect(events[0]?.data).toBe('180,4');
    stream.destroy();
    for (const target of ['/scores', '/?stream=true', '/score/x']) {
      const res = await fetchRaw(`${server.url}${target}`);
      expect(res.headers['content-type'], target).toMatch(/^application\/json/);
    }
  });

  it('hands the rewritten request of a prefix matcher to the default chunk generator', async () => {
    const server = await serve(harness, { requestMatcher: uriPrefixMatch('/sse') });
    const stream = await openStream(`${server.url}/sse/app/metrics?x=1`);
    const [event] = await stream.waitForEvents(1);
    const echo = JSON.parse(event?.data ?? '') as EchoBody;
    expect(echo).toMatchObject({ method: 'GET', path: '/app/metrics', query: 'x=1' });
    stream.destroy();
    const other = await fetchRaw(`${server.url}/sser/app`);
    expect(other.headers['content-type']).toMatch(/^application\/json/);
  });
}
