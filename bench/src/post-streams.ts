/**
 * `pnpm bench --post-streams`: the figures of POST-initiated, per-request and resumable streams.
 *
 * 1. Abort → producer stop, on every adapter's route-level form: a client POSTs, reads the first
 *    event and aborts; the stream's producer is in a real `fetch` to a local upstream that streams
 *    slowly; measured from the client's `abort()` to the upstream seeing its request closed (the
 *    producer's upstream call cancelled). p50 / p99 over `aborts` aborts per adapter.
 * 2. Time to first byte of a POST stream (`sseRoute` with `body: 'json'`) against a raw
 *    node:http handler doing the same work (read and parse the JSON body, write the SSE head and
 *    the first event), interleaved in rounds in one run: the ratio of the medians.
 * 3. Resume across two processes through Redis: a generation produced on process A, followed by a
 *    client that drops after a random number of events and resumes with `Last-Event-ID` on the
 *    other process, `drops` times: every event exactly once, in order.
 *
 * Writes `bench/results/post-streams.json` and `docs/benchmarks-post-streams.md` (with `--quick`:
 * `bench/results/post-streams-quick.{json,md}`).
 */

import uWS from 'uWebSockets.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve as honoServe } from '@hono/node-server';
import type { SseOptions, StreamContext } from '@sse-middleware/core';
import { sseReply } from '@sse-middleware/fastify';
import { sseRoute as honoRoute } from '@sse-middleware/hono';
import { sseRoute as koaRoute } from '@sse-middleware/koa';
import { sseRoute as nodeRoute } from '@sse-middleware/node-http';
import { sseRoute as uwsRoute } from '@sse-middleware/uws';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { startBenchRedis } from './redis.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');

interface Running {
  url: string;
  close(): Promise<void>;
}

/** A listening node:http server as a `Running`: its URL, and a close that drops every connection. */
function running(server: Server): Running {
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const listenNode = async (server: Server): Promise<Running> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return running(server);
};

// ---------------------------------------------------------------------------------------------
// 1. Abort → producer stop

/** The "model": streams a line every 10 ms until its client goes; tells when a request closed. */
async function startUpstream() {
  const closedAt = new Map<string, (at: number) => void>();
  const server = createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    res.writeHead(200, { 'content-type': 'text/plain' });
    const timer = setInterval(() => res.write('token\n'), 10);
    res.write('token\n');
    res.on('close', () => {
      clearInterval(timer);
      closedAt.get(id)?.(performance.now());
      closedAt.delete(id);
    });
  });
  const running = await listenNode(server);
  return {
    ...running,
    /** Resolves with the time the upstream request `id` closed. */
    closed: (id: string) =>
      new Promise<number>((resolve) => {
        closedAt.set(id, resolve);
      }),
  };
}

function producerOptions(upstreamUrl: string): SseOptions {
  return {
    body: 'json',
    heartbeat: 0,
    maxConnections: 0,
    source: async function* (_req, ctx: StreamContext) {
      const { id } = ctx.body as { id: string };
      const response = await fetch(`${upstreamUrl}/?id=${id}`, { signal: ctx.signal });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
        yield { data: decoder.decode(chunk) };
      }
    },
  };
}

type Starter = (options: SseOptions) => Promise<Running>;

const ADAPTERS: Record<string, Starter> = {
  'node-http': async (options) => {
    const route = nodeRoute(options);
    return listenNode(createServer((req, res) => route(req, res)));
  },
  fastify: async (options) => {
    const app = Fastify({ forceCloseConnections: true });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    await app.register(sseReply, options);
    app.post('/', (_request, reply) => reply.sseStream());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  },
  koa: async (options) => {
    const app = new Koa();
    app.use(koaRoute(options));
    return listenNode(createServer(app.callback()));
  },
  hono: async (options) => {
    const app = new Hono();
    app.post('/', honoRoute(options));
    const server = await new Promise<Server>((resolve) => {
      const s = honoServe({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
        resolve(s as Server),
      );
    });
    return running(server);
  },
  uws: async (options) => {
    const app = uWS.App().post('/', uwsRoute(options));
    const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
      app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('uWS did not listen')))),
    );
    return {
      url: `http://127.0.0.1:${uWS.us_socket_local_port(socket)}`,
      close: async () => {
        uWS.us_listen_socket_close(socket);
        (app as unknown as { close(): void }).close();
      },
    };
  },
};

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (value: number) => Math.round(value * 1000) / 1000;

async function abortLatency(name: string, start: Starter, aborts: number) {
  const upstream = await startUpstream();
  const server = await start(producerOptions(upstream.url));
  const samples: number[] = [];
  try {
    for (let i = 0; i < aborts; i += 1) {
      const id = `${name}-${i}`;
      const closed = upstream.closed(id);
      const controller = new AbortController();
      const response = await fetch(`${server.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id }),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      await reader.read();
      const abortedAt = performance.now();
      controller.abort();
      samples.push((await closed) - abortedAt);
    }
  } finally {
    await server.close();
    await upstream.close();
  }
  samples.sort((a, b) => a - b);
  return {
    adapter: name,
    aborts,
    p50Ms: ms(percentile(samples, 50)),
    p99Ms: ms(percentile(samples, 99)),
    maxMs: ms(samples.at(-1)!),
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Time to first byte against raw node:http

const FIRST_EVENT = (body: { prompt: string }) =>
  `data: ${JSON.stringify({ echo: body.prompt })}\n\n`;

function rawHandler(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: { prompt: string };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(FIRST_EVENT(body));
    res.end();
  });
}

async function timeToFirstByte(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"prompt":"hello"}',
  });
  const reader = response.body!.getReader();
  await reader.read();
  const elapsed = performance.now() - started;
  await reader.cancel();
  return elapsed;
}

async function firstByte(requests: number, rounds: number) {
  const raw = await listenNode(createServer(rawHandler));
  const route = nodeRoute({
    body: 'json',
    heartbeat: 0,
    maxConnections: 0,
    source: (_req, ctx) => [
      { data: JSON.stringify({ echo: (ctx.body as { prompt: string }).prompt }) },
    ],
  });
  const ours = await listenNode(createServer((req, res) => route(req, res)));
  const samples = { raw: [] as number[], ours: [] as number[] };
  try {
    for (let i = 0; i < 200; i += 1) {
      await timeToFirstByte(raw.url);
      await timeToFirstByte(ours.url);
    }
    for (let r = 0; r < rounds; r += 1) {
      for (let i = 0; i < requests; i += 1) {
        samples.raw.push(await timeToFirstByte(raw.url));
        samples.ours.push(await timeToFirstByte(ours.url));
      }
    }
  } finally {
    await raw.close();
    await ours.close();
  }
  samples.raw.sort((a, b) => a - b);
  samples.ours.sort((a, b) => a - b);
  const rawP50 = percentile(samples.raw, 50);
  const oursP50 = percentile(samples.ours, 50);
  return {
    requests: requests * rounds,
    rawP50Ms: ms(rawP50),
    oursP50Ms: ms(oursP50),
    rawP99Ms: ms(percentile(samples.raw, 99)),
    oursP99Ms: ms(percentile(samples.ours, 99)),
    ratioP50: Math.round((oursP50 / rawP50) * 100) / 100,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Resume across two processes through Redis

async function startNode(redisUrl: string): Promise<Running & { exited: Promise<unknown> }> {
  const child = spawn(process.execPath, [join(here, 'post-streams-node.js')], {
    env: { ...process.env, REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const [line] = (await once(child.stdout!.setEncoding('utf8'), 'data')) as [string];
  const url = line.trim();
  return {
    url,
    exited,
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function resumeAcrossProcesses(drops: number, events: number) {
  const redis = await startBenchRedis();
  const nodes = [await startNode(redis.server.url), await startNode(redis.server.url)];
  const seen: number[] = [];
  let reconnects = 0;
  try {
    const id = `bench-${Date.now()}`;
    const started = await fetch(`${nodes[0]!.url}/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, events }),
    });
    if (started.status !== 204) throw new Error(`start answered ${started.status}`);
    let lastEventId = '';
    let ended = false;
    while (!ended) {
      const node = nodes[reconnects % 2]!;
      const dropAfter =
        reconnects < drops ? 1 + Math.floor(Math.random() * 6) : Number.POSITIVE_INFINITY;
      const controller = new AbortController();
      const response = await fetch(`${node.url}/follow?id=${id}`, {
        headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        signal: controller.signal,
      });
      if (response.status === 204) break;
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let pending = '';
      let got = 0;
      reading: for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          ended = true;
          break;
        }
        pending += decoder.decode(value, { stream: true });
        let end = pending.indexOf('\n\n');
        while (end >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          end = pending.indexOf('\n\n');
          const idLine = /^id: ([0-9a-z]+\.(\d+))$/m.exec(block);
          if (!idLine) continue;
          lastEventId = idLine[1]!;
          seen.push(Number(idLine[2]));
          got += 1;
          if (got >= dropAfter) {
            controller.abort();
            break reading;
          }
        }
      }
      reconnects += 1;
    }
  } finally {
    for (const node of nodes) await node.close();
    await redis.server.stop();
  }
  const duplicates = seen.length - new Set(seen).size;
  const inOrder = seen.every((seq, i) => seq === i + 1);
  return {
    events,
    drops: Math.min(drops, reconnects),
    received: seen.length,
    duplicates,
    missing: events - new Set(seen).size,
    inOrder,
  };
}

// ---------------------------------------------------------------------------------------------

export async function postStreamBench(
  quick: boolean,
  log: (line: string) => void,
): Promise<boolean> {
  const aborts = quick ? 50 : 1000;
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    node: process.version,
  };
  const abortRows = [];
  for (const [name, start] of Object.entries(ADAPTERS)) {
    const row = await abortLatency(name, start, aborts);
    log(
      `abort → upstream closed, ${name}: p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms over ${aborts}`,
    );
    abortRows.push(row);
  }
  results.abortToProducerStop = abortRows;
  const ttfb = await firstByte(quick ? 100 : 1000, 3);
  log(
    `time to first byte, POST stream: raw ${ttfb.rawP50Ms} ms, ours ${ttfb.oursP50Ms} ms (p50), ratio ${ttfb.ratioP50}`,
  );
  results.timeToFirstByte = ttfb;
  const resume = await resumeAcrossProcesses(quick ? 100 : 1000, quick ? 600 : 5000);
  log(
    `resume across 2 processes through Redis: ${resume.received}/${resume.events} events over ${resume.drops} drops, ${resume.duplicates} duplicated, ${resume.missing} missing, in order: ${resume.inOrder}`,
  );
  results.resumeAcrossProcesses = resume;
  const json = join(
    repoRoot,
    'bench',
    'results',
    quick ? 'post-streams-quick.json' : 'post-streams.json',
  );
  const markdown = quick
    ? join(repoRoot, 'bench', 'results', 'post-streams-quick.md')
    : join(repoRoot, 'docs', 'benchmarks-post-streams.md');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(markdown, renderMarkdown(abortRows, ttfb, resume, quick));
  log(`wrote ${json} and ${markdown}`);
  return resume.duplicates === 0 && resume.missing === 0 && resume.inOrder;
}

function renderMarkdown(
  aborts: Awaited<ReturnType<typeof abortLatency>>[],
  ttfb: Awaited<ReturnType<typeof firstByte>>,
  resume: Awaited<ReturnType<typeof resumeAcrossProcesses>>,
  quick: boolean,
): string {
  const lines = [
    '# Benchmarks: POST, per-request and resumable streams',
    '',
    `Generated by \`pnpm bench --post-streams${quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)} (Node ${process.version}); re-run to refresh, do not edit by hand. Machine-readable: \`bench/results/post-streams${quick ? '-quick' : ''}.json\`. Source: \`bench/src/post-streams.ts\`.`,
    '',
    '## Client abort to producer stop',
    '',
    "A client POSTs, reads the first event and aborts. The stream's producer is inside a real `fetch` to a local upstream that streams a line every 10 ms, with `ctx.signal`; the time is from the client's `abort()` to the upstream seeing its request closed, so the upstream call is cancelled, not merely no longer read. Client, server and upstream share one process.",
    '',
    '| adapter (route-level form) | aborts | p50 | p99 | max |',
    '| --- | --- | --- | --- | --- |',
    ...aborts.map(
      (row) =>
        `| ${row.adapter} | ${row.aborts} | ${row.p50Ms} ms | ${row.p99Ms} ms | ${row.maxMs} ms |`,
    ),
    '',
    '## Time to first byte of a POST stream',
    '',
    `Sequential POSTs of a small JSON body with undici's \`fetch\`, to \`sseRoute({ body: 'json', source })\` on node:http and to a raw node:http handler doing the same work (read and parse the body, write the SSE head and one event), interleaved in 3 rounds in one run, after a warm-up. ${ttfb.requests} requests each.`,
    '',
    '| handler | p50 | p99 |',
    '| --- | --- | --- |',
    `| raw node:http | ${ttfb.rawP50Ms} ms | ${ttfb.rawP99Ms} ms |`,
    `| sseRoute | ${ttfb.oursP50Ms} ms | ${ttfb.oursP99Ms} ms |`,
    '',
    `Ratio of the medians: **${ttfb.ratioP50}x**.`,
    '',
    '## Resume across two processes through Redis',
    '',
    `A generation of ${resume.events} events (2 ms apart) produced on process A, with the Redis resumable store; one client follows it, drops after 1 to 6 events (random), and resumes with \`Last-Event-ID\` on the other process, ${resume.drops} times, then follows to the end.`,
    '',
    '| events | drops | received | duplicated | missing | in order |',
    '| --- | --- | --- | --- | --- | --- |',
    `| ${resume.events} | ${resume.drops} | ${resume.received} | ${resume.duplicates} | ${resume.missing} | ${resume.inOrder ? 'yes' : 'no'} |`,
    '',
  ];
  return lines.join('\n');
}
