import { type ChildProcess, spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ConformanceServer } from './harness.js';
import { fetchRaw, openStream, type RawStream } from './http-client.js';

export interface ExampleHarness {
  /** The server's name, e.g. `fastify`. */
  name: string;
  /** Starts the example's `buildApp()` on 127.0.0.1 port 0. */
  start(): Promise<ConformanceServer>;
  /** Absolute path of the example's `src/main.ts`, started as `pnpm start` would (with PORT=0). */
  main: string;
}

const SSE_CONTENT_TYPE = 'text/event-stream;charset=UTF-8';

/** The route contract every example shares, whatever its server. */
export function describeExampleContract(example: ExampleHarness): void {
  describe(`example contract: ${example.name}`, () => {
    const serve = async () => {
      const server = await example.start();
      onTestFinished(() => server.close());
      return server;
    };

    it('GET / answers a JSON echo of the request with a `now` timestamp', async () => {
      const { url } = await serve();
      const res = await fetchRaw(`${url}/?a=1`);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const echo = JSON.parse(res.body);
      expect(echo).toMatchObject({ method: 'GET', path: '/', query: { a: '1' } });
      expect(Math.abs(echo.now - Date.now())).toBeLessThan(60_000);
    });

    it('GET /?stream=true streams that echo: first event at once, then one per second', async () => {
      const { url } = await serve();
      const opened = Date.now();
      const stream = await openStream(`${url}/?stream=true`);
      expect(stream.headers['content-type']).toBe(SSE_CONTENT_TYPE);
      await stream.waitForEvents(1, 3000);
      expect(Date.now() - opened).toBeLessThan(900);
      await stream.waitForEvents(2, 4000);
      stream.destroy();
      const [first, second] = stream.events.map((e) => JSON.parse(e.data));
      expect(first).toMatchObject({ method: 'GET', path: '/', query: { stream: 'true' } });
      expect(second.now - first.now).toBeGreaterThanOrEqual(900);
    });

    it('GET /app/metrics answers process metrics; with ?stream=true it streams them', async () => {
      const { url } = await serve();
      const res = await fetchRaw(`${url}/app/metrics`);
      expect(res.status).toBe(200);
      const metrics = JSON.parse(res.body);
      expect(metrics.memory.rss).toBeGreaterThan(0);
      expect(typeof metrics.uptimeSeconds).toBe('number');
      const stream = await openStream(`${url}/app/metrics?stream=true`);
      const [event] = await stream.waitForEvents(1, 3000);
      expect(JSON.parse(event!.data).memory.heapUsed).toBeGreaterThan(0);
      stream.destroy();
    });

    it('GET /score streams a comma-separated score at once, for at most 100 clients', async () => {
      const { url } = await serve();
      const streams: RawStream[] = [];
      try {
        for (let i = 0; i < 100; i += 1) streams.push(await openStream(`${url}/score`));
        expect(
          streams.every((s) => s.status === 200 && s.headers['content-type'] === SSE_CONTENT_TYPE),
        ).toBe(true);
        const [event] = await streams[0]!.waitForEvents(1, 2000);
        expect(event!.data).toMatch(/^[A-Za-z]+,\d+,\d+,\d+\.\d$/);
        const refused = await fetchRaw(`${url}/score`);
        expect(refused.status).toBe(503);
        expect(refused.body).toBe(
          '503 Service Unavailable.\n\nNo available streaming connection. Maximum connection limit is: 100',
        );
      } finally {
        for (const stream of streams) stream.destroy();
      }
    });

    it('allows 10 default streams at once; the 11th gets the 503', async () => {
      const { url } = await serve();
      const streams: RawStream[] = [];
      try {
        for (let i = 0; i < 10; i += 1) streams.push(await openStream(`${url}/?stream=true`));
        const refused = await fetchRaw(`${url}/app/metrics?stream=true`);
        expect(refused.status).toBe(503);
        expect(refused.body).toMatch(/Maximum connection limit is: 10$/);
      } finally {
        for (const stream of streams) stream.destroy();
      }
    });

    it('answers unknown routes 404 and never streams POST', async () => {
      const { url } = await serve();
      expect((await fetchRaw(`${url}/nowhere`)).status).toBe(404);
      const post = await fetchRaw(`${url}/?stream=true`, { method: 'POST' });
      expect(post.headers['content-type'] ?? '').not.toMatch(/event-stream/);
    });

    it('starts from src/main.ts on PORT and HOST, and stops cleanly on SIGINT', async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', example.main], {
        cwd: dirname(dirname(example.main)),
        env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      onTestFinished(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      const url = await announcedUrl(child);
      const stream = await openStream(`${url}/?stream=true`);
      await stream.waitForEvents(1, 3000);
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
    });
  });
}

function announcedUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`example did not announce its URL in 15 s; output: ${output}`)),
      15_000,
    );
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`example exited with ${code} before listening; output: ${output}`));
    });
  });
}
