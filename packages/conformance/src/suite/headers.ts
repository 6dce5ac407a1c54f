import { wrapDelay } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { afterHeadComment, openStream, sleep } from '../http-client.js';
import { serve } from './context.js';

export function headerTests(harness: ConformanceHarness) {
  it('sends the default SSE headers at once, before the first event', async () => {
    const server = await serve(harness, {
      chunkGenerator: wrapDelay(() => ({ data: 'late' }), { initial: 600, interval: 1000 }),
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    expect(stream.headers['cache-control']).toBe(
      'no-cache, no-store, max-age=0, must-revalidate, no-transform',
    );
    expect(stream.headers.pragma).toBe('no-cache');
    expect(stream.headers['x-accel-buffering']).toBe('no');
    expect(stream.headers['content-length']).toBeUndefined();
    expect(afterHeadComment(stream.text)).toBe('');
    await stream.waitForEvents(1);
    expect(stream.events[0]?.data).toBe('late');
    stream.destroy();
  });

  it('adds user headers to the defaults without restating them', async () => {
    const server = await serve(harness, {
      chunkGenerator: () => ({ data: 'x' }),
      headers: {
        'Access-Control-Allow-Origin': 'https://example.test',
        'cache-control': 'no-cache',
        Pragma: null,
      },
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    expect(stream.headers['access-control-allow-origin']).toBe('https://example.test');
    expect(stream.headers['cache-control']).toBe('no-cache');
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    expect(stream.headers.pragma).toBeUndefined();
    stream.destroy();
  });

  it('replaces every default with emptyResponse, as the original did', async () => {
    const server = await serve(harness, {
      chunkGenerator: wrapDelay(() => ({ data: 'x' }), 50),
      emptyResponse: { headers: { 'Content-Type': 'text/event-stream', 'X-Custom': 'yes' } },
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.headers['x-custom']).toBe('yes');
    expect(stream.headers['cache-control']).toBeUndefined();
    expect(stream.headers['x-accel-buffering']).toBeUndefined();
    await stream.waitForEvents(1);
    stream.destroy();
    await sleep(0);
  });
}
