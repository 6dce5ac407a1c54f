import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGunzip } from 'node:zlib';
import { polledEcho } from '@sse-middleware/conformance';
import { type SseOptions, wrapDelay } from '@sse-middleware/core';
import compression from 'compression';
import { afterEach, describe, expect, it } from 'vitest';
import { sseMiddleware } from '../src/index.js';
import { innerApp } from './fixture.js';

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** Events 1 and 2 are 1.5 s apart: event 1 must arrive long before event 2 exists. */
function spaced(): SseOptions['chunkGenerator'] {
  let n = 0;
  return wrapDelay(() => ({ data: `event ${++n}` }), 1500);
}

async function firstEventDelay(options: SseOptions) {
  const sse = sseMiddleware(innerApp, options);
  const compress = compression();
  const server = createServer((req, res) =>
    compress(req as never, res as never, () => sse(req, res)),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/?stream=true`;
  return new Promise<{ encoding: string | undefined; ms: number; text: string }>(
    (resolve, reject) => {
      const req = request(url, { headers: { 'Accept-Encoding': 'gzip' }, agent: false }, (res) => {
        const started = Date.now();
        const encoding = res.headers['content-encoding'];
        const body = encoding === 'gzip' ? res.pipe(createGunzip()) : res;
        let text = '';
        body.setEncoding('utf8');
        body.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n\n')) {
            resolve({ encoding, ms: Date.now() - started, text });
            req.destroy();
          }
        });
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('behind the compression middleware', () => {
  it('is left uncompressed thanks to no-transform, and each event arrives at once', async () => {
    const result = await firstEventDelay({ chunkGenerator: spaced() });
    expect(result.encoding).toBeUndefined();
    expect(result.text).toBe('data: event 1\n\n');
    expect(result.ms).toBeLessThan(1000);
  });

  it('flushes every event when the user drops no-transform and the stream is gzipped', async () => {
    const result = await firstEventDelay({
      chunkGenerator: spaced(),
      headers: { 'Cache-Control': 'no-cache' },
    });
    expect(result.encoding).toBe('gzip');
    expect(result.text).toBe('data: event 1\n\n');
    expect(result.ms).toBeLessThan(1000);
  });

  it('polls the handler with an identity encoding: the default generator streams its JSON, not gzip bytes', async () => {
    const result = await firstEventDelay({});
    expect(polledEcho(result.text)).toMatchObject({ method: 'GET', path: '/' });
  });
});
