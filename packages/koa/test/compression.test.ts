import {
  fetchRaw,
  firstCompressedEvent,
  NO_TRANSFORM_DROPPED,
  polledEcho,
  spacedEvents,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import Koa from 'koa';
import compress from 'koa-compress';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse } from '../src/index.js';
import { innerApp, listen, logUnexpectedErrors } from './fixture.js';

/**
 * koa-compress first, with `threshold: 0` so that small bodies qualify and its default filter
 * (which finds text/event-stream compressible), then `sse()`, then the conformance inner app.
 */
async function start(options: Partial<SseOptions> = {}): Promise<string> {
  const app = new Koa();
  logUnexpectedErrors(app);
  app.use(compress({ threshold: 0 }));
  app.use(sse({ chunkGenerator: spacedEvents(), ...options }));
  app.use(innerApp);
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server.url;
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
      const result = await firstCompressedEvent(await start(), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBe('Accept-Encoding');
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'leaves it uncompressed without no-transform too, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstCompressedEvent(await start(NO_TRANSFORM_DROPPED), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBe('Accept-Encoding');
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'polls the route with an identity encoding: the default generator streams its JSON, not %s bytes',
    async (acceptEncoding) => {
      const result = await firstCompressedEvent(
        await start({ chunkGenerator: undefined }),
        acceptEncoding,
      );
      expect(polledEcho(result.text)).toMatchObject({ method: 'GET', path: '/' });
    },
  );
});
