import compress, { type FastifyCompressOptions } from '@fastify/compress';
import {
  fetchRaw,
  firstCompressedEvent,
  NO_TRANSFORM_DROPPED,
  polledEcho,
  spacedEvents,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sseMiddleware } from '../src/index.js';
import { innerApp, listen } from './fixture.js';

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
  await app.register(sseMiddleware, { chunkGenerator: spacedEvents(), ...options });
  await app.register(innerApp);
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server.url;
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
      const result = await firstCompressedEvent(await start(), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.vary).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'never sees it without no-transform either: uncompressed, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstCompressedEvent(await start(NO_TRANSFORM_DROPPED), acceptEncoding);
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
      const result = await firstCompressedEvent(url, acceptEncoding);
      expect(result.encoding).toBeUndefined();
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
