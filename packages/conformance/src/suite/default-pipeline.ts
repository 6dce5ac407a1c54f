import { EventEmitter } from 'node:events';
import { uriPrefixMatch } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness, EchoBody } from '../harness.js';
import { innerAbortCount, innerRequestCount, MULTIBYTE_TEXT } from '../harness.js';
import { afterHeadComment, openStream, sleep, until } from '../http-client.js';
import { itWhen } from './capabilities.js';
import { errorRecorder, serve, tickEvery } from './context.js';

export function defaultPipelineTests(harness: ConformanceHarness) {
  it('polls the wrapped handler for the same request: first event at once, then one per second', async () => {
    const server = await serve(harness, {});
    const opened = Date.now();
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.waitForEvents(1, 3000);
    const firstAt = Date.now();
    await stream.waitForEvents(2, 4000);
    const secondAt = Date.now();
    stream.destroy();

    expect(firstAt - opened).toBeLessThan(900);
    expect(secondAt - firstAt).toBeGreaterThanOrEqual(900);
    const [first, second] = stream.events.map((e) => JSON.parse(e.data) as EchoBody);
    expect(first).toMatchObject({ method: 'GET', path: '/', query: 'stream=true' });
    expect(second!.now).toBeGreaterThan(first!.now);
    expect(afterHeadComment(stream.text).startsWith('data: {')).toBe(true);
  });

  it('sends an empty body as an empty data event', async () => {
    const server = await serve(harness, { requestMatcher: uriPrefixMatch('/sse') });
    const stream = await openStream(`${server.url}/sse/empty`);
    await stream.waitForEvents(1);
    expect(afterHeadComment(stream.text)).toBe('data: \n\n');
    expect(stream.events[0]?.data).toBe('');
    stream.destroy();
  });

  it('ends the stream with an error event when the inner handler answers non-2xx', async () => {
    const { errors, onError } = errorRecorder();
    const server = await serve(harness, { requestMatcher: uriPrefixMatch('/sse'), onError });
    const stream = await openStream(`${server.url}/sse/status/404`);
    await stream.ended;
    expect(stream.events).toHaveLength(1);
    expect(stream.events[0]).toMatchObject({ event: 'error' });
    expect(stream.events[0]?.data).toMatch(/^Error - \(InnerResponseError\) .*404/);
    expect(errors).toHaveLength(1);
  });

  it('keeps multi-byte UTF-8 from the inner handler intact', async () => {
    const server = await serve(harness, { requestMatcher: uriPrefixMatch('/sse') });
    const stream = await openStream(`${server.url}/sse/text`);
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe(MULTIBYTE_TEXT);
    stream.destroy();
  });

  itWhen(
    harness,
    'pollHeaders',
    "forwards the client's headers to the poll, asking for the identity encoding, without the body's framing",
    async () => {
      const server = await serve(harness, { requestMatcher: uriPrefixMatch('/sse') });
      const stream = await openStream(`${server.url}/sse/headers`, {
        headers: { 'X-Custom': 'forwarded', 'Accept-Encoding': 'gzip, br', 'Content-Length': '0' },
      });
      const [event] = await stream.waitForEvents(1);
      stream.destroy();
      const headers = JSON.parse(event!.data) as Record<string, unknown>;
      expect(headers).toMatchObject({ 'x-custom': 'forwarded', 'accept-encoding': 'identity' });
      expect(headers).not.toHaveProperty('content-length');
      expect(headers).not.toHaveProperty('transfer-encoding');
    },
  );

  it('aborts the poll in flight when the stream ends', async () => {
    const server = await serve(harness, { requestMatcher: uriPrefixMatch('/sse') });
    const polled = innerRequestCount('/slow');
    const aborted = innerAbortCount();
    const stream = await openStream(`${server.url}/sse/slow`);
    await until(() => innerRequestCount('/slow') > polled, 'the poll to reach the inner app');
    stream.destroy();
    await until(() => innerAbortCount() > aborted, 'the inner app to see the poll aborted');
    expect(stream.events).toEqual([]);
  });

  it("adds no listener to the stream's signal per poll (no MaxListenersExceededWarning)", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    // Read by every AbortSignal made from now on: the stream's one warns once it holds more than 4.
    const limit = EventEmitter.defaultMaxListeners;
    EventEmitter.defaultMaxListeners = 4;
    process.on('warning', onWarning);
    try {
      const server = await serve(harness, {});
      const stream = await openStream(`${server.url}/?stream=true`);
      await stream.waitForEvents(1, 3000); // the signal exists by then, even if made lazily
      EventEmitter.defaultMaxListeners = limit;
      // One poll a second: a listener left per poll would pass the limit by the sixth.
      await stream.waitForEvents(6, 10_000);
      stream.destroy();
      await sleep(20);
    } finally {
      EventEmitter.defaultMaxListeners = limit;
      process.off('warning', onWarning);
    }
    const leaks = warnings.filter(
      (w) => w.name === 'MaxListenersExceededWarning' && /AbortSignal/.test(w.message),
    );
    expect(leaks).toEqual([]);
  }, 15_000);

  itWhen(
    harness,
    'secondMiddleware',
    'sends a poll past a second SSE middleware, which never streams it',
    async () => {
      const server = await serve(
        harness,
        { requestMatcher: uriPrefixMatch('/sse') },
        { secondMiddleware: { chunkGenerator: tickEvery(20) } },
      );
      const stream = await openStream(`${server.url}/sse/feed?stream=true`);
      const [event] = await stream.waitForEvents(1);
      stream.destroy();
      expect(JSON.parse(event!.data)).toMatchObject({
        method: 'GET',
        path: '/feed',
        query: 'stream=true',
      });
    },
  );
}
