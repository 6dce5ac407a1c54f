/**
 * One process of the resume scenario in `post-streams.ts`: resumable streams in Redis
 * (`REDIS_URL`). `POST /start` `{ id, events }` starts a producer of `events` events, 2 ms apart;
 * `GET /follow?id=` streams it from `Last-Event-ID`. Prints its URL on stdout.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createResumableStreams } from '@sse-middleware/core';
import { sseRoute } from '@sse-middleware/node-http';
import { createRedisResumableStore } from '@sse-middleware/redis';

const store = createRedisResumableStore({
  url: process.env.REDIS_URL ?? '',
  prefix: 'sse-bench:resumable',
});
const streams = createResumableStreams({ store, ttl: 600_000, maxEvents: 1_000_000 });
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const follow = sseRoute({
  heartbeat: 0,
  maxConnections: 0,
  answer: async (req) => {
    const id = new URLSearchParams(req.query).get('id') ?? '';
    const found = await streams.resume(id, req.headers.get('last-event-id') ?? undefined);
    return found.status === 200 ? undefined : { status: found.status };
  },
  source: async function* (req, ctx) {
    const id = new URLSearchParams(req.query).get('id') ?? '';
    const found = await streams.resume(id, ctx.lastEventId);
    if (found.source) yield* found.source(req, ctx) as AsyncIterable<Uint8Array>;
  },
});

const server = createServer(async (req, res) => {
  const { pathname } = new URL(req.url ?? '/', 'http://x');
  if (pathname === '/follow') return follow(req, res);
  if (pathname === '/start' && req.method === 'POST') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const { id, events } = JSON.parse(Buffer.concat(chunks).toString()) as {
      id: string;
      events: number;
    };
    await streams.start(id, async function* () {
      for (let i = 1; i <= events; i += 1) {
        await pause(2);
        yield { data: `event ${i}` };
      }
    });
    res.writeHead(204).end();
    return;
  }
  res.writeHead(404).end();
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});

process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await streams.close();
  await store.close();
  process.exit(0);
});
