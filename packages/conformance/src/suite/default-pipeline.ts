import { uriPrefixMatch } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import type { ConformanceHarness, EchoBody } from '../harness.js';
import { MULTIBYTE_TEXT } from '../harness.js';
import { afterHeadComment, openStream } from '../http-client.js';
import { errorRecorder, serve } from './context.js';

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
}
