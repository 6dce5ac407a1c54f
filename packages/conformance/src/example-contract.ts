import { describe, expect, it, onTestFinished } from 'vitest';
import { dashboardContractTests } from './example-dashboard.js';
import { framingContractTests } from './example-framing.js';
import { hostileClientTests, MEMORY_ID, spawnExampleMain } from './example-hostile.js';
import { postStreamContractTests } from './example-post-streams.js';
import { privateStreamContractTests } from './example-private.js';
import type { ConformanceServer } from './harness.js';
import { afterHeadComment, fetchRaw, openStream, postBody, type RawStream } from './http-client.js';

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
    /** Starts the example for this test; closing it early is fine, it is closed once. */
    const serve = async (): Promise<ConformanceServer> => {
      const server = await example.start();
      let closed: Promise<void> | undefined;
      const close = () => {
        closed ??= server.close();
        return closed;
      };
      onTestFinished(close);
      return { ...server, close };
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

    it('GET /events streams what POST /publish publishes: text, JSON named events, with ids and a retry hint', async () => {
      const { url } = await serve();
      const events = await openStream(`${url}/events`);
      expect(events.headers['content-type']).toBe(SSE_CONTENT_TYPE);
      await events.waitForText((text) => afterHeadComment(text).startsWith('retry: 2000\n'));
      const text = await postPublish(url, 'hello, world', 'text/plain');
      expect(text).toEqual({ status: 202, body: { id: expect.stringMatching(MEMORY_ID) } });
      const json = await postPublish(
        url,
        JSON.stringify({ event: 'greeting', data: { to: 'you' } }),
        'application/json',
      );
      expect(json).toEqual({ status: 202, body: { id: expect.stringMatching(MEMORY_ID) } });
      const ids = [text, json].map((answer) => (answer.body as { id: string }).id);
      const received = await events.waitForEvents(2);
      expect(received.map((e) => [e.id, e.event ?? 'message', e.data])).toEqual([
        [ids[0], 'message', 'hello, world'],
        [ids[1], 'greeting', '{"to":"you"}'],
      ]);
      events.destroy();
    });

    it('POST /publish answers 400 with the reason for an event the encoder refuses, and publishes nothing', async () => {
      const { url } = await serve();
      const events = await openStream(`${url}/events`);
      await events.waitForText((text) => afterHeadComment(text).startsWith('retry:'));
      const refused = await postPublish(
        url,
        JSON.stringify({ event: 'bad\nname', data: 1 }),
        'application/json',
      );
      expect(refused.status).toBe(400);
      expect(JSON.stringify(refused.body)).toMatch(/event.*must not contain CR, LF or NUL/);
      expect((await postPublish(url, '{not json', 'application/json')).status).toBe(400);
      const next = await postPublish(url, 'after the refusals', 'text/plain');
      expect(next).toEqual({ status: 202, body: { id: expect.stringMatching(/\.1$/) } });
      const [only] = await events.waitForEvents(1);
      expect(only?.data).toBe('after the refusals');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(events.events).toHaveLength(1);
      events.destroy();
    });

    it('GET /events replays what a reconnecting client missed after its Last-Event-ID', async () => {
      const { url } = await serve();
      const ids: string[] = [];
      for (const n of [1, 2, 3]) {
        ids.push(((await postPublish(url, `event ${n}`, 'text/plain')).body as { id: string }).id);
      }
      const resumed = await openStream(`${url}/events`, { headers: { 'Last-Event-ID': ids[0]! } });
      const replayed = await resumed.waitForEvents(2);
      expect(replayed.map((e) => [e.id, e.data])).toEqual([
        [ids[1], 'event 2'],
        [ids[2], 'event 3'],
      ]);
      resumed.destroy();
    });

    it('GET /app/metrics includes the stats of the streams and the channel', async () => {
      const { url } = await serve();
      await postPublish(url, 'counted', 'text/plain');
      const metrics = JSON.parse((await fetchRaw(`${url}/app/metrics`)).body);
      expect(metrics.sse.channel).toMatchObject({ published: 1, subscribers: 0 });
      expect(metrics.sse.events).toMatchObject({ open: 0 });
      expect(typeof metrics.sse.events.writtenBytes).toBe('number');
    });

    it('starts from src/main.ts on PORT and HOST, heartbeats every HEARTBEAT_MS, and stops cleanly on SIGINT', async () => {
      const { url, child } = await spawnExampleMain(example.main, { HEARTBEAT_MS: '150' });
      const stream = await openStream(`${url}/?stream=true`);
      await stream.waitForEvents(1, 3000);
      const idle = await openStream(`${url}/events`);
      await idle.waitForText(
        (text) => (afterHeadComment(text).match(/^:\n/gm) ?? []).length >= 2,
        5000,
      );
      idle.destroy();
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(0);
    });

    describe('request smuggling and pipelining', () =>
      framingContractTests({ serve, postPublish }));
    describe('POST, per-request and resumable streams', () => postStreamContractTests(serve));
    describe('private streams: tokens, cookies, tickets, kicks', () =>
      privateStreamContractTests(serve));
    describe('live dashboard', () => dashboardContractTests({ serve, main: example.main }));

    describe('hostile clients and restarts', () =>
      hostileClientTests({
        serve,
        spawnMain: () => spawnExampleMain(example.main),
        postPublish,
      }));
  });
}

/** POSTs a body to /publish and returns the status and the parsed JSON answer. */
async function postPublish(
  url: string,
  body: string,
  contentType: string,
): Promise<{ status: number; body: unknown }> {
  const answer = await postBody(`${url}/publish`, body, { 'Content-Type': contentType });
  if (answer.body === undefined) {
    throw new Error(
      `POST /publish answered ${answer.status} with a body that is not JSON: ${answer.text}`,
    );
  }
  return { status: answer.status, body: answer.body };
}
