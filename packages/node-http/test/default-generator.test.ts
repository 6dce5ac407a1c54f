import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { openStream } from '@sse-middleware/conformance';
import { afterEach, describe, expect, it } from 'vitest';
import { sseMiddleware } from '../src/index.js';

const servers: Array<ReturnType<typeof createServer>> = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function start(listener: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the default chunk generator (polling the wrapped listener)', () => {
  it('asks the listener for an identity-encoded body, so a compressing handler still yields text', async () => {
    const url = await start(
      sseMiddleware((req, res) => {
        const gzip = /gzip/.test(String(req.headers['accept-encoding']));
        res.writeHead(200, gzip ? { 'Content-Encoding': 'gzip' } : {});
        res.end(gzip ? gzipSync('compressed') : 'plain text');
      }),
    );
    const stream = await openStream(`${url}/?stream=true`, {
      headers: { 'Accept-Encoding': 'gzip' },
    });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('plain text');
    stream.destroy();
  });

  it('adds no listener to the stream per poll (no MaxListenersExceededWarning after many polls)', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const url = await start(sseMiddleware((_req, res) => res.end('tick')));
      const stream = await openStream(`${url}/?stream=true`);
      // The default generator polls once a second; 12 polls would pass Node's limit of 10 listeners.
      await stream.waitForEvents(12, 20_000);
      stream.destroy();
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  }, 30_000);
});
