import { connect, createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { fetchRaw, openStream, until } from '@sse-middleware/conformance';
import { wrapDelay } from '@sse-middleware/core';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse } from '../src/index.js';
import { ALREADY_SENT_HEADER } from '../src/node-server.js';
import { answerErrors, failingUpstream, listen } from './fixture.js';

const ticks = () => wrapDelay(() => ({ data: 'tick' }), 20);

async function served(app: { fetch: Hono['fetch'] }) {
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server;
}

/** Reads SSE text from a Response body until `count` blank-line-terminated events arrived. */
async function readEvents(response: Response, count: number): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n\n').length <= count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text;
}

describe('sse() arguments', () => {
  it('says what to pass when there is neither an app to poll nor a chunk generator', () => {
    expect(() => sse({})).toThrow(
      new TypeError(
        'sse() needs options.app, the Hono app whose responses the default chunk generator streams (sse({ app })), or else options.chunkGenerator or options.source',
      ),
    );
    expect(() => (sse as (options?: unknown) => unknown)()).toThrow(/needs options\.app/);
  });

  it('names the argument and the received value', () => {
    const call = sse as (options: unknown) => unknown;
    expect(() => call(null)).toThrow(
      new TypeError('sse(options) must be an object, received null'),
    );
    expect(() => call({ app: { get: () => {} } })).toThrow(
      new TypeError(
        'options.app must be a Hono app (anything with a fetch method), received {} (Object)',
      ),
    );
    expect(() => call({ source: () => [], nodeFastPath: 'no' })).toThrow(
      new TypeError('options.nodeFastPath must be a boolean, received "no" (string)'),
    );
  });

  it("leaves the core's options to the core's validation", () => {
    const app = new Hono();
    expect(() => sse({ app, maxConnections: 'ten' as unknown as number })).toThrow(
      /options\.maxConnections must be an integer, received "ten" \(string\)/,
    );
    expect(() => sse({ app, maxConnection: 1 } as never)).toThrow(/options\.maxConnection /);
  });

  it('exposes the engine and a graceful close()', async () => {
    const streams = sse({ source: () => [] });
    expect(streams.engine.connections.max).toBe(10);
    await expect(streams.close({ timeout: 0 })).resolves.toBeUndefined();
  });
});

describe('any fetch runtime: app.request() with no server', () => {
  it('answers with a ReadableStream Response and frees the slot when the body is cancelled', async () => {
    const app = new Hono();
    const streams = sse({ app, maxConnections: 1 });
    app.use(streams);
    app.get('/metrics', (c) => c.json({ up: true }));

    const response = await app.request('/metrics?stream=true');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream;charset=UTF-8');
    expect(response.headers.has('transfer-encoding')).toBe(false);
    expect(await readEvents(response, 1)).toBe('data: {"up":true}\n\n');
    await until(() => streams.engine.connections.active === 0, 'the slot to be freed');
    expect((await app.request('/metrics?stream=true')).status).toBe(200);
  });

  it('answers 503 when every slot is taken, keeping headers set upstream', async () => {
    const app = new Hono();
    app.use(cors());
    app.use(sse({ maxConnections: 1, chunkGenerator: ticks() }));
    const first = await app.request('/?stream=true');
    const refused = await app.request('/?stream=true');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    await first.body!.cancel();
  });
});

describe('the default chunk generator', () => {
  it("calls app.fetch with GET and the matching path and query, and the stream's bindings minus the Node response", async () => {
    const app = new Hono();
    const streams = sse({ app });
    app.use(streams);
    app.get('/who', (c) =>
      c.json({
        method: c.req.method,
        url: new URL(c.req.url).pathname + new URL(c.req.url).search,
        nodeResponse: (c.env as Partial<HttpBindings>).outgoing !== undefined,
        nodeRequest: (c.env as Partial<HttpBindings>).incoming !== undefined,
      }),
    );
    const server = await served(app);
    const stream = await openStream(`${server.url}/who?stream=true&x=1`);
    const [event] = await stream.waitForEvents(1);
    stream.destroy();
    expect(JSON.parse(event!.data)).toEqual({
      method: 'GET',
      url: '/who?stream=true&x=1',
      // The poll never sees the live Node response of the stream, only the request.
      nodeResponse: false,
      nodeRequest: true,
    });
  });

  it('ends the stream with an error event when a matcher drops the request it was given', async () => {
    const errors: unknown[] = [];
    const app = new Hono();
    app.use(
      sse({
        app,
        requestMatcher: (req) => (req.path === '/bare' ? { ...req, raw: undefined } : undefined),
        onError: (error) => errors.push(error),
      }),
    );
    const server = await served(app);
    const stream = await openStream(`${server.url}/bare`);
    await stream.ended;
    expect(stream.events[0]?.event).toBe('error');
    expect(String(errors[0])).toMatch(/needs the Hono context as the matched request's raw/);
  });
});

describe('on @hono/node-server', () => {
  it('names the header of RESPONSE_ALREADY_SENT', () => {
    expect([...RESPONSE_ALREADY_SENT.headers]).toEqual([[ALREADY_SENT_HEADER, 'true']]);
  });

  for (const nodeFastPath of [true, false]) {
    const path = nodeFastPath ? 'the Node response' : 'a ReadableStream Response';

    it(`streams to ${path}, and middleware in front sees the status that went out`, async () => {
      const seen: { status: number; body: 'none' | 'stream'; alreadySent: boolean }[] = [];
      const app = new Hono();
      app.use(async (c, next) => {
        await next();
        seen.push({
          status: c.res.status,
          body: c.res.body === null ? 'none' : 'stream',
          alreadySent: c.res.headers.has(ALREADY_SENT_HEADER),
        });
      });
      app.use(sse({ maxConnections: 1, nodeFastPath, chunkGenerator: ticks() }));
      const server = await served(app);
      const stream = await openStream(`${server.url}/?stream=true`);
      await stream.waitForEvents(2);
      expect((await fetchRaw(`${server.url}/?stream=true`)).status).toBe(503);
      stream.destroy();
      expect(seen).toEqual(
        [200, 503].map((status) =>
          nodeFastPath
            ? { status, body: 'none', alreadySent: true }
            : { status, body: 'stream', alreadySent: false },
        ),
      );
    });

    it(`keeps headers set upstream with c.header() on ${path}, Set-Cookie included`, async () => {
      const app = new Hono();
      app.use(async (c, next) => {
        c.header('X-Request-Id', 'r-1');
        c.header('Set-Cookie', 'a=1; Path=/', { append: true });
        c.header('Set-Cookie', 'b=2; Path=/', { append: true });
        await next();
      });
      app.use(sse({ nodeFastPath, maxConnections: 1, chunkGenerator: ticks() }));
      const server = await served(app);
      const stream = await openStream(`${server.url}/?stream=true`);
      expect(stream.headers['x-request-id']).toBe('r-1');
      expect(stream.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
      const refused = await fetchRaw(`${server.url}/?stream=true`);
      expect(refused.status).toBe(503);
      expect(refused.headers['x-request-id']).toBe('r-1');
      stream.destroy();
    });

    it(`keeps the headers of cors() for any origin on ${path}, and streams on`, async () => {
      const app = new Hono();
      app.use(cors());
      app.use(sse({ nodeFastPath, chunkGenerator: ticks() }));
      const server = await served(app);
      const stream = await openStream(`${server.url}/?stream=true`, {
        headers: { Origin: 'https://elsewhere.example' },
      });
      expect(stream.headers['access-control-allow-origin']).toBe('*');
      expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
      const events = await stream.waitForEvents(3);
      expect(stream.isEnded).toBe(false);
      expect(events.every((event) => event.data === 'tick')).toBe(true);
      expect(stream.text).not.toMatch(/Error/);
      stream.destroy();
    });

    it(`streams over HTTP/2 to ${path}, with no connection-specific header`, async () => {
      const app = new Hono();
      app.use(sse({ nodeFastPath, chunkGenerator: ticks() }));
      const server = await new Promise<Http2Server>((resolve) => {
        const created = serve(
          { fetch: app.fetch, port: 0, hostname: '127.0.0.1', createServer: createHttp2Server },
          () => resolve(created as Http2Server),
        );
      });
      const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      onTestFinished(
        () =>
          new Promise<void>((resolve) => {
            session.destroy();
            server.close(() => resolve());
          }),
      );
      const request = session.request({ ':path': '/?stream=true' });
      const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        request.once('response', resolve);
        request.once('error', reject);
      });
      expect(headers[':status']).toBe(200);
      expect(headers['content-type']).toBe('text/event-stream;charset=UTF-8');
      expect(headers['transfer-encoding']).toBeUndefined();
      request.setEncoding('utf8');
      let text = '';
      await new Promise<void>((resolve) => {
        request.on('data', (chunk: string) => {
          text += chunk;
          if (text.length >= 'data: tick\n\n'.length * 2) resolve();
        });
      });
      expect(text.startsWith('data: tick\n\ndata: tick\n\n')).toBe(true);
      request.close();
    });
  }

  it('applies what middleware in front adds after next() only with nodeFastPath: false', async () => {
    const vary = async (nodeFastPath: boolean) => {
      const app = new Hono();
      app.use(cors({ origin: 'https://app.example' }));
      app.use(sse({ nodeFastPath, chunkGenerator: ticks() }));
      const server = await served(app);
      const stream = await openStream(`${server.url}/?stream=true`, {
        headers: { Origin: 'https://app.example' },
      });
      stream.destroy();
      expect(stream.headers['access-control-allow-origin']).toBe('https://app.example');
      return stream.headers.vary;
    };
    // cors() sets Vary after next(): the Node response's head has gone out by then.
    expect(await vary(true)).toBeUndefined();
    expect(await vary(false)).toBe('Origin');
  });

  it('frees the slot of a ReadableStream Response that a failing middleware in front replaced', async () => {
    const app = new Hono();
    app.onError(answerErrors);
    app.use(failingUpstream);
    const streams = sse({ maxConnections: 1, nodeFastPath: false, chunkGenerator: ticks() });
    app.use(streams);
    const server = await served(app);
    const answered = await fetchRaw(`${server.url}/?stream=true`);
    expect(answered.status).toBe(500);
    expect(answered.body).toBe('Internal Server Error');
    await until(() => streams.engine.connections.active === 0, 'the slot to be freed');
  });
});
