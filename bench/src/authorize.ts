/**
 * `pnpm bench --authorize`: what `options.authorize` costs on the open path of a stream.
 *
 * Three node:http servers with the same channel stream (`uriMatch('/events')`, a channel source,
 * heartbeats off), started in this process: without authorization; with an `authorize` that parses
 * a bearer name (the cost of the step itself); with an `authorize` that verifies an HS256 JWT with
 * node:crypto and restricts the principal to its own topic (what an application does). A client
 * opens a stream, waits for its first event (sent at subscribe time), and drops it; the three are
 * interleaved request by request, in rounds, after a warm-up, so they share the machine's noise.
 * Reported: p50 / p99 time to first event of each, and the ratios of the medians to the first.
 *
 * Writes `bench/results/authorize.json` and `docs/benchmarks-authorize.md` (with `--quick`:
 * `bench/results/authorize-quick.{json,md}`).
 */

import { createHmac, timingSafeEqual } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Chunk, type SseOptions, type SsePrincipal, uriMatch } from '@sse-middleware/core';
import { sse } from '@sse-middleware/node-http';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const SECRET = 'bench-secret';

const base64url = (text: string) => Buffer.from(text).toString('base64url');

function signJwt(payload: Record<string, unknown>): string {
  const head = `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

/** HS256 verification as an application would write it with node:crypto: signature, alg, exp. */
function verifyJwt(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [head, body, signature] = parts as [string, string, string];
  const expected = createHmac('sha256', SECRET).update(`${head}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const header = JSON.parse(Buffer.from(head, 'base64url').toString());
  if (header.alg !== 'HS256') return undefined;
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
  if (typeof payload.exp !== 'number' || payload.exp * 1000 <= Date.now()) return undefined;
  return payload;
}

/** One event at subscribe time, then open until the client leaves. */
const hello = () => ({
  async *[Symbol.asyncIterator](): AsyncGenerator<Chunk> {
    yield { data: 'hello' };
    await new Promise(() => {});
  },
});

const common: SseOptions = {
  requestMatcher: uriMatch('/events'),
  source: hello,
  heartbeat: 0,
  maxConnections: 0,
};

const VARIANTS: Record<string, SseOptions> = {
  none: common,
  bearer: {
    ...common,
    authorize: (req): SsePrincipal | undefined => {
      const match = /^Bearer (\w+)$/.exec(req.headers.get('authorization') ?? '');
      return match ? { key: match[1]! } : undefined;
    },
  },
  jwt: {
    ...common,
    authorize: (req): SsePrincipal | undefined => {
      const header = req.headers.get('authorization') ?? '';
      const payload = header.startsWith('Bearer ') ? verifyJwt(header.slice(7)) : undefined;
      if (!payload || typeof payload.sub !== 'string') return undefined;
      return {
        key: payload.sub,
        topics: [`user:${payload.sub}`],
        expiresAt: (payload.exp as number) * 1000,
      };
    },
  },
};

interface Running {
  url: string;
  close(): Promise<void>;
}

async function listen(options: SseOptions): Promise<Running> {
  const handler = sse((_req, res) => res.writeHead(404).end(), options);
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    close: async () => {
      await handler.close({ timeout: 100 });
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Opens a stream, resolves with the ms until its first event's bytes, and drops it. */
function timeToFirstEvent(url: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers: { authorization }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${url} answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.once('data', () => {
        const elapsed = performance.now() - started;
        req.destroy();
        resolve(elapsed);
      });
    });
    req.on('error', (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end();
  });
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const ms = (value: number) => Math.round(value * 1000) / 1000;

export async function authorizeBench(quick: boolean, log: (line: string) => void): Promise<void> {
  const requests = quick ? 200 : 2000;
  const rounds = 3;
  const token = `Bearer ${signJwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  const servers = Object.fromEntries(
    await Promise.all(
      Object.entries(VARIANTS).map(async ([name, options]) => [name, await listen(options)]),
    ),
  ) as Record<string, Running>;
  const authorization: Record<string, string> = {
    none: 'none',
    bearer: 'Bearer alice',
    jwt: token,
  };
  const samples: Record<string, number[]> = { none: [], bearer: [], jwt: [] };
  try {
    for (let i = 0; i < 300; i += 1) {
      for (const name of Object.keys(VARIANTS))
        await timeToFirstEvent(servers[name]!.url, authorization[name]!);
    }
    for (let r = 0; r < rounds; r += 1) {
      for (let i = 0; i < requests; i += 1) {
        for (const name of Object.keys(VARIANTS)) {
          samples[name]!.push(await timeToFirstEvent(servers[name]!.url, authorization[name]!));
        }
      }
    }
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.close()));
  }
  const rows = Object.entries(samples).map(([name, list]) => {
    list.sort((a, b) => a - b);
    return { name, p50Ms: ms(percentile(list, 50)), p99Ms: ms(percentile(list, 99)) };
  });
  const baseline = rows[0]!.p50Ms;
  const results = {
    node: process.version,
    date: new Date().toISOString(),
    requestsEach: requests * rounds,
    variants: rows.map((row) => ({
      ...row,
      ratioP50: Math.round((row.p50Ms / baseline) * 100) / 100,
    })),
  };
  for (const row of results.variants) {
    log(`authorize ${row.name}: p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms, ratio ${row.ratioP50}`);
  }
  const suffix = quick ? '-quick' : '';
  await writeFile(
    join(repoRoot, 'bench', 'results', `authorize${suffix}.json`),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  const markdown = quick
    ? join(repoRoot, 'bench', 'results', 'authorize-quick.md')
    : join(repoRoot, 'docs', 'benchmarks-authorize.md');
  await writeFile(markdown, renderMarkdown(results, quick));
}

const LABELS: Record<string, string> = {
  none: 'no `authorize`',
  bearer: '`authorize` parsing a bearer name',
  jwt: '`authorize` verifying an HS256 JWT (node:crypto), own topic, expiry',
};

function renderMarkdown(
  results: {
    node: string;
    requestsEach: number;
    variants: { name: string; p50Ms: number; p99Ms: number; ratioP50: number }[];
  },
  quick: boolean,
): string {
  return [
    '# What `authorize` costs on the open path',
    '',
    `Generated by \`pnpm bench --authorize${quick ? ' --quick' : ''}\` on ${new Date().toISOString().slice(0, 10)} (Node ${results.node}); re-run to refresh, do not edit by hand. Source: \`bench/src/authorize.ts\`.`,
    '',
    `A client opens \`GET /events\` on node:http (\`sse()\`, a source that sends one event at once), waits for the first event and drops the connection; the three servers below run in one process and are interleaved request by request in 3 rounds, after a warm-up, ${results.requestsEach} opens each.`,
    '',
    '| server | p50 | p99 | p50 ratio to no `authorize` |',
    '| --- | --- | --- | --- |',
    ...results.variants.map(
      (row) => `| ${LABELS[row.name]} | ${row.p50Ms} ms | ${row.p99Ms} ms | ${row.ratioP50}x |`,
    ),
    '',
  ].join('\n');
}
