import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { fetchRaw } from '@sse-middleware/conformance';
import { type SseOptions, wrapDelay } from '@sse-middleware/core';
import { Hono } from 'hono';
import { COMPRESSIBLE_CONTENT_TYPE_REGEX, compress } from 'hono/compress';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse } from '../src/index.js';
import { innerApp, listen } from './fixture.js';

/** The encodings hono/compress can produce, with the decompressor the client reads them through. */
const decoders = { gzip: createGunzip, deflate: createInflate };
type Encoding = keyof typeof decoders;

/**
 * Past this many ms after the response head, the client stops waiting for the first event: by
 * then the server has produced events 2 and 3 as well.
 */
const GIVE_UP_MS = 3500;

/** Events 1 and 2 are 1.5 s apart: event 1 must arrive long before event 2 exists. */
function spaced(): SseOptions['chunkGenerator'] {
  let n = 0;
  return wrapDelay(() => ({ data: `event ${++n}` }), 1500);
}

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
}

/** `compress()` in front of `sse()` in front of the conformance inner app, on @hono/node-server. */
async function start({ nodeFastPath, options = {}, compressOptions }: Setup): Promise<string> {
  const app = new Hono();
  app.use(compress({ threshold: 0, ...compressOptions }));
  app.use(sse({ chunkGenerator: spaced(), nodeFastPath, ...options }));
  app.all('*', innerApp);
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server.url;
}

interface FirstEvent {
  encoding: string | undefined;
  vary: string | undefined;
  /** From the response head to the complete first event; `Infinity` if it had not come by then. */
  ms: number;
  /** What the client had decoded when the first event was complete, or when it gave up. */
  text: string;
}

/**
 * Opens the stream with `Accept-Encoding: acceptEncoding`, decompressing incrementally when the
 * response is encoded, and times the first event from the response head.
 */
function firstEvent(url: string, acceptEncoding: Encoding): Promise<FirstEvent> {
  return new Promise((resolve, reject) => {
    const noHead = setTimeout(
      () => reject(new Error(`no response head within ${GIVE_UP_MS} ms`)),
      GIVE_UP_MS,
    );
    const req = request(
      `${url}/?stream=true`,
      { headers: { 'Accept-Encoding': acceptEncoding }, agent: false },
      (res) => {
        clearTimeout(noHead);
        const started = Date.now();
        const { 'content-encoding': encoding, vary } = res.headers;
        if (encoding !== undefined && !Object.hasOwn(decoders, encoding)) {
          req.destroy();
          reject(new Error(`unexpected Content-Encoding: ${encoding}`));
          return;
        }
        let text = '';
        const finish = (ms: number) => {
          clearTimeout(giveUp);
          req.destroy();
          resolve({ encoding, vary, ms, text });
        };
        const giveUp = setTimeout(() => finish(Number.POSITIVE_INFINITY), GIVE_UP_MS);
        const body: Readable =
          encoding === undefined ? res : res.pipe(decoders[encoding as Encoding]());
        body.setEncoding('utf8');
        body.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n\n')) finish(Date.now() - started);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const NO_TRANSFORM_DROPPED: Partial<SseOptions> = { headers: { 'Cache-Control': 'no-cache' } };

describe.each([
  { path: 'the fast path', nodeFastPath: true },
  { path: 'the ReadableStream Response (nodeFastPath: false)', nodeFastPath: false },
])('behind compress() on @hono/node-server, through $path', ({ nodeFastPath }) => {
  it('compresses the ordinary routes of the same app', async () => {
    const url = await start({ nodeFastPath });
    const response = await fetchRaw(`${url}/echo`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(response.headers['content-encoding']).toBe('gzip');
  });

  it.each(['gzip', 'deflate'] as const)(
    'leaves the stream uncompressed with the default headers, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstEvent(await start({ nodeFastPath }), acceptEncoding);
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
      const result = await firstEvent(url, acceptEncoding);
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
      const result = await firstEvent(url, acceptEncoding);
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
      const result = await firstEvent(url, acceptEncoding);
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
      const result = await firstEvent(url, acceptEncoding);
      expect(result.encoding).toBe(acceptEncoding);
      expect(result.vary).toBe('Accept-Encoding');
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );
});
