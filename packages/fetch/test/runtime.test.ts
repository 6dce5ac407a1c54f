import { listenFetch, openStream, RUNTIME, sleep } from '@sse-middleware/conformance';
import { uriMatch } from '@sse-middleware/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse } from '../src/index.js';

/** What each runtime's own server would do to a stream, and what the adapter does about it. */
describe(`the fetch adapter on ${RUNTIME}'s own server`, () => {
  it('keeps a stream open past the server’s idle timeout (Bun.serve idleTimeout: 2 s; none elsewhere)', async () => {
    const streams = sse(() => new Response('not streamed'), {
      requestMatcher: uriMatch('/events'),
      heartbeat: 0,
      source: async function* (_req, ctx) {
        yield { data: 'first' };
        await sleep(3500);
        if (!ctx.signal.aborted) yield { data: 'after the idle time' };
        await new Promise(() => {});
      },
    });
    const server = await listenFetch(streams, () => streams.close({ event: null, retry: 0 }), 2);
    onTestFinished(() => server.close());
    const stream = await openStream(`${server.url}/events`);
    try {
      expect(stream.status).toBe(200);
      const events = await stream.waitForEvents(2, 8000);
      expect(events.map((event) => event.data)).toEqual(['first', 'after the idle time']);
      expect(stream.isEnded).toBe(false);
    } finally {
      stream.destroy();
    }
  });

  it('sends the complete head before the first event (Bun completes it with a first comment)', async () => {
    const streams = sse(() => new Response('not streamed'), {
      requestMatcher: uriMatch('/events'),
      heartbeat: 0,
      source: async function* () {
        await sleep(1000);
        yield { data: 'late' };
      },
    });
    const server = await listenFetch(streams, () => streams.close({ event: null, retry: 0 }));
    onTestFinished(() => server.close());
    const started = Date.now();
    const stream = await openStream(`${server.url}/events`);
    try {
      expect(Date.now() - started).toBeLessThan(800);
      expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    } finally {
      stream.destroy();
    }
  });
});
