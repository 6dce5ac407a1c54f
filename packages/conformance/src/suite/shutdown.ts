import { wrapDelay } from '@sse-middleware/core';
import { expect } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { fetchRaw, openStream, type RawStream } from '../http-client.js';
import { itWhen } from './capabilities.js';
import { serve } from './context.js';

export function shutdownTests(harness: ConformanceHarness) {
  itWhen(
    harness,
    'gracefulShutdown',
    'shuts down gracefully: a final event with a retry hint, every stream ended, every slot freed',
    async () => {
      const server = await serve(harness, {
        maxConnections: 5,
        chunkGenerator: wrapDelay(() => ({ data: 'tick' }), 50),
      });
      if (!server.shutdownStreams) {
        throw new Error(
          `${harness.name}: start() must return shutdownStreams(): expose the adapter's graceful shutdown (its engine's close(), e.g. a close() method on the middleware or a hook on the server's own close) and return it from the harness, or set capabilities.gracefulShutdown to the reason it is impossible`,
        );
      }
      const streams: RawStream[] = [];
      for (let i = 0; i < 5; i += 1) streams.push(await openStream(`${server.url}/?stream=true`));
      await Promise.all(streams.map((s) => s.waitForEvents(1)));
      const started = Date.now();
      await server.shutdownStreams({ retry: 2000, timeout: 3000 });
      await Promise.all(streams.map((s) => s.ended));
      expect(Date.now() - started).toBeLessThan(3000);
      for (const stream of streams) {
        const last = stream.events.at(-1);
        expect(last?.event).toBe('shutdown');
        const retry = /retry: (\d+)\n/.exec(stream.text);
        expect(Number(retry?.[1])).toBeGreaterThanOrEqual(2000);
        expect(Number(retry?.[1])).toBeLessThan(4000);
      }
      const refused = await fetchRaw(`${server.url}/?stream=true`);
      expect(refused.status).toBe(503);
      expect(refused.body).toBe('503 Service Unavailable.\n\nThe server is shutting down.');
      expect((await fetchRaw(`${server.url}/`)).status).toBe(200);
    },
  );
}
