import {
  fetchRaw,
  firstCompressedEvent,
  NO_TRANSFORM_DROPPED,
  polledEcho,
  spacedEvents,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import { Hono } from 'hono';
import { COMPRESSIBLE_CONTENT_TYPE_REGEX, compress } from 'hono/compress';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse } from '../src/index.js';
import { innerApp, listen } from './fixture.js';

/** The encodings hono/compress can produce, with the decompressor the client reads them through. */

/** `compress()` as a user who wants event streams compressed too would widen it. */
const eventStreamsToo = (type: string) =>
  COMPRESSIBLE_CONTENT_TYPE_REGEX.test(type) || /^text\/event-stream\b/i.test(type);

interface Setup {
  /** On @hono/node-server: the fast path (default) or the `ReadableStream` Response. */
  nodeFastPath: boolean;
  /** Extra SSE options (`headers` to drop `no-transform`). */
  options?: Partial<SseOptions>;
  /** Options of `compress()`; `threshold: 0` so that small bodies qualify. */
  compressOptions?: Parameters<typeof compress>[0];
  /** Stream with the default chunk generator, polling the app, instead of spaced events. */
  defaultPoll?: boolean;
}

/** `compress()` in front of `sse()` in front of the conformance inner app, on @hono/node-server. */
async function start({
  nodeFastPath,
  options = {},
  compressOptions,
  defaultPoll = false,
}: Setup): Promise<string> {
  const app = new Hono();
  app.use(compress({ threshold: 0, ...compressOptions }));
  const source = defaultPoll ? { app } : { chunkGenerator: spacedEvents() };
  app.use(sse({ ...source, nodeFastPath, ...options }));
  app.all('*', innerApp);
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server.url;
}

describe.each([
  { path: 'the fast path', nodeFastPath: true },
  { path: 'the ReadableStream Response (nodeFastPath: false)', nodeFastPath: false },
])('behind compress() on @hono/node-server, through $path', ({ nodeFastPath }) => {
  it.each(['gzip', 'deflate'] as const)(
    'polls the app with an identity encoding: the default generator streams its JSON, not %s bytes',
    async (acceptEncoding) => {
      const url = await start({ nodeFastPath, defaultPoll: true });
      const result = await firstCompressedEvent(url, acceptEncoding);
      expect(polledEcho(result.text)).toMatchObject({ method: 'GET', path: '/' });
    },
  );

  it('compresses the ordinary routes of the same app', async () => {
    const url = await start({ nodeFastPath });
    const response = await fetchRaw(`${url}/echo`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(response.headers['content-encoding']).toBe('gzip');
  });

  it.each(['gzip', 'deflate'] as const)(
    'leaves the stream uncompressed with the default headers, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstCompressedEvent(await start({ nodeFastPath }), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'deflate'] as const)(
    'leaves the stream uncompressed without no-transform too, its default filter excluding text/event-stream (%s accepted)',
    async (acceptEncoding) => {
      const url = await start({ nodeFastPath, options: NO_TRANSFORM_DROPPED });
      const result = await firstCompressedEvent(url, acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );
});

describe('behind compress() widened to text/event-stream', () => {
  const widened = { contentTypeFilter: eventStreamsToo };

  it.each(['gzip', 'deflate'] as const)(
    'still leaves the ReadableStream Response alone while no-transform is kept (%s accepted)',
    async (acceptEncoding) => {
      const url = await start({ nodeFastPath: false, compressOptions: widened });
      const result = await firstCompressedEvent(url, acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'deflate'] as const)(
    'never sees the fast path stream, which goes out uncompressed without no-transform too (%s accepted)',
    async (acceptEncoding) => {
      // compress() only gets the bodiless response that tells @hono/node-server the stream is
      // already on the wire: no Content-Type, nothing to compress.
      const url = await start({
        nodeFastPath: true,
        options: NO_TRANSFORM_DROPPED,
        compressOptions: widened,
      });
      const result = await firstCompressedEvent(url, acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  // compress() pipes the body through a CompressionStream, which has no flush: event 1 stays in
  // the compressor. Measured: only the 10-byte gzip header reaches the client, and no event by
  // 3.5 s, when events 2 and 3 have been produced too (nor after 4,500 `data: event N` events
  // 1 ms apart); with ~30 random bytes per event the first output came after 826 events.
  // The fast path above is not affected. This is a limitation of Web compression streams, documented
  // in the README ("Compression"); the test fails the day compress() learns to flush.
  it.fails.each(['gzip', 'deflate'] as const)(
    'LIMITATION: compress() widened to event streams holds events back on the ReadableStream path (%s accepted)',
    async (acceptEncoding) => {
      const url = await start({
        nodeFastPath: false,
        options: NO_TRANSFORM_DROPPED,
        compressOptions: widened,
      });
      const result = await firstCompressedEvent(url, acceptEncoding);
      expect(result.encoding).toBe(acceptEncoding);
      expect(result.vary).toBe('Accept-Encoding');
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );
});
