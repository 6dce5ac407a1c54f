import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { fetchRaw } from '@sse-middleware/conformance';
import { type SseOptions, wrapDelay } from '@sse-middleware/core';
import Koa from 'koa';
import compress from 'koa-compress';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse } from '../src/index.js';
import { innerApp, listen, logUnexpectedErrors } from './fixture.js';

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
 * koa-compress first, with `threshold: 0` so that small bodies qualify and its default filter
 * (which finds text/event-stream compressible), then `sse()`, then the conformance inner app.
 */
async function start(options: Partial<SseOptions> = {}): Promise<string> {
  const app = new Koa();
  logUnexpectedErrors(app);
  app.use(compress({ threshold: 0 }));
  app.use(sse({ chunkGenerator: spaced(), ...options }));
  app.use(innerApp);
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

describe('behind koa-compress', () => {
  it('compresses the ordinary routes of the same app', async () => {
    const url = await start();
    const response = await fetchRaw(`${url}/echo`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(response.headers['content-encoding']).toBe('gzip');
  });

  // koa-compress compresses ctx.body after `await next()`; sse() answers on ctx.res with
  // `ctx.respond = false`, so by then the stream's head is out and there is no body to compress.
  // Only the `Vary: Accept-Encoding` that koa-compress sets before `next()` goes out with it.
  it.each(['gzip', 'br'] as const)(
    'leaves the stream uncompressed with the default headers, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstEvent(await start(), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBe('Accept-Encoding');
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'leaves it uncompressed without no-transform too, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstEvent(await start(NO_TRANSFORM_DROPPED), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBe('Accept-Encoding');
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );
});
