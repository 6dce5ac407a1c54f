import { type StreamContext, uriPrefixMatch, wrapDelay } from '@sse-middleware/core';
import { expect, it } from 'vitest';
import { CORS_ORIGIN, type ConformanceHarness } from '../harness.js';
import { fetchRaw, openStream } from '../http-client.js';
import { itWhen } from './capabilities.js';
import { errorRecorder, onStreamEnd, serve, signalled } from './context.js';

export function crossServerTests(harness: ConformanceHarness) {
  itWhen(
    harness,
    'corsPlugin',
    "keeps the headers of the framework's own CORS plugin on the stream",
    async () => {
      const server = await serve(
        harness,
        { chunkGenerator: wrapDelay(() => ({ data: 'x' }), 50) },
        { cors: true },
      );
      const stream = await openStream(`${server.url}/?stream=true`, {
        headers: { Origin: CORS_ORIGIN },
      });
      expect(stream.status).toBe(200);
      expect(stream.headers['access-control-allow-origin']).toBe(CORS_ORIGIN);
      expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
      await stream.waitForEvents(1);
      stream.destroy();
    },
  );

  itWhen(
    harness,
    'failingUpstream',
    'does not leak a slot when another middleware throws after the stream began',
    async () => {
      const { onError } = errorRecorder();
      const aborted = signalled();
      const server = await serve(
        harness,
        {
          maxConnections: 1,
          onError,
          chunkGenerator: wrapDelay((_req, ctx) => {
            onStreamEnd(ctx, () => aborted.resolve());
            return { data: 'x' };
          }, 50),
        },
        { failingUpstream: true },
      );
      const first = await openStream(`${server.url}/?stream=true`);
      await Promise.race([first.waitForEvents(1), first.ended]);
      first.destroy();
      await aborted.promise;
      const second = await openStream(`${server.url}/?stream=true`);
      expect(second.status).toBe(200);
      await Promise.race([second.waitForEvents(1), second.ended]);
      second.destroy();
      expect((await fetchRaw(`${server.url}/`)).status).toBe(200);
    },
  );

  itWhen(
    harness,
    'endingUpstream',
    'ends the stream as if its client had left when a middleware in front ends the response mid-stream',
    async () => {
      const { errors, onError } = errorRecorder();
      const responseEnds: Array<() => void> = [];
      const firstEnded = signalled();
      let first: StreamContext | undefined;
      let ticks = 0;
      const server = await serve(
        harness,
        {
          maxConnections: 1,
          onError,
          chunkGenerator: wrapDelay((_req, ctx) => {
            first ??= ctx;
            if (ctx !== first) return { data: 'next' };
            onStreamEnd(ctx, () => firstEnded.resolve());
            ticks += 1;
            // Ended in front: the event returned now finds its response over.
            if (ticks === 3) responseEnds[0]!();
            return { data: String(ticks) };
          }, 20),
        },
        { endingUpstream: (endResponse) => responseEnds.push(endResponse) },
      );
      const stream = await openStream(`${server.url}/?stream=true`);
      await stream.ended;
      await firstEnded.promise;
      expect(stream.events.map((event) => event.data)).toEqual(['1', '2']);
      expect(stream.text.endsWith('\n\n')).toBe(true);
      const next = await openStream(`${server.url}/?stream=true`);
      expect(next.status).toBe(200);
      await next.waitForEvents(1);
      next.destroy();
      expect((await fetchRaw(`${server.url}/`)).status).toBe(200);
      expect(errors).toEqual([]);
    },
  );

  it('ends with an error event and frees the slot when the inner handler throws', async () => {
    const { errors, onError } = errorRecorder();
    const server = await serve(harness, {
      requestMatcher: uriPrefixMatch('/sse'),
      maxConnections: 1,
      onError,
    });
    const stream = await openStream(`${server.url}/sse/throw`);
    await stream.ended;
    expect(stream.events).toHaveLength(1);
    expect(stream.events[0]?.event).toBe('error');
    // A framework answers 500; node:http has no such layer, so the listener's own error surfaces.
    expect(stream.events[0]?.data).toMatch(/500|inner failure/);
    expect(errors).toHaveLength(1);
    const next = await openStream(`${server.url}/sse/text`);
    expect(next.status).toBe(200);
    await next.waitForEvents(1);
    next.destroy();
  });
}
