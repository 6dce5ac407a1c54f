import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import compress, { type FastifyCompressOptions } from '@fastify/compress';
import { fetchRaw } from '@sse-middleware/conformance';
import { type SseOptions, wrapDelay } from '@sse-middleware/core';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sseMiddleware } from '../src/index.js';
import { innerApp, listen } from './fixture.js';

/** The encodings a client may accept here, with the decompressor it reads them through. */
const decoders = { gzip: createGunzip, br: createBrotliDecompress, deflate: createInflate };
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

const NO_TRANSFORM_DROPPED: Partial<SseOptions> = { headers: { 'Cache-Control': 'no-cache' } };

/**
 * @fastify/compress registered the usual way (global, before the routes and the SSE plugin), with
 * `threshold: 0` so that small bodies qualify; then the SSE plugin and the conformance inner app.
 */
async function start(
  options: Partial<SseOptions> = {},
  compressOptions: FastifyCompressOptions = {},
): Promise<string> {
  const app = Fastify({ forceCloseConnections: true });
  await app.register(compress, { global: true, threshold: 0, ...compressOptions });
  await app.register(sseMiddleware, { chunkGenerator: spaced(), ...options });
  await app.register(innerApp);
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

describe('behind @fastify/compress', () => {
  it('compresses the ordinary routes of the same app', async () => {
    const url = await start();
    const response = await fetchRaw(`${url}/echo`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(response.headers['content-encoding']).toBe('gzip');
    expect(response.headers.vary).toBe('accept-encoding');
  });

  // @fastify/compress works in the route's onSend hook, which a hijacked reply never reaches.
  it.each(['gzip', 'br'] as const)(
    'never sees the hijacked stream with the default headers: uncompressed, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstEvent(await start(), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'never sees it without no-transform either: uncompressed, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstEvent(await start(NO_TRANSFORM_DROPPED), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'never sees it even with customTypes widened to text/event-stream (%s accepted)',
    async (acceptEncoding) => {
      // Its default customTypes leave text/event-stream out; this one would compress it.
      const url = await start(NO_TRANSFORM_DROPPED, { customTypes: /^text\/|json/ });
      const result = await firstEvent(url, acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );
});
