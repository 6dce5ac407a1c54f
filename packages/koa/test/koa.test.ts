import { once } from 'node:events';
import { connect, createServer as createHttp2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  type ConformanceServer,
  fetchRaw,
  openStream,
  sleep,
  UpstreamFailure,
  until,
} from '@sse-middleware/conformance';
import { type Chunk, type StreamContext, uriMatch, wrapDelay } from '@sse-middleware/core';
import Koa from 'koa';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import { type SseMiddleware, sse } from '../src/index.js';
import { failingUpstream, listen } from './fixture.js';

/** Starts `app` for the current test; every error Koa reports lands in `errors` instead of the log. */
async function serve(app: Koa): Promise<ConformanceServer & { errors: Error[] }> {
  const errors: Error[] = [];
  app.on('error', (error: Error) => errors.push(error));
  const server = await listen(app);
  onTestFinished(() => server.close());
  return { ...server, errors };
}

function signalled<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const ticks = wrapDelay((): Chunk => ({ data: 'tick' }), 20);

describe('sse()', () => {
  it('throws a TypeError naming the argument and the value it received', () => {
    expect(() => sse(5 as never)).toThrow(
      new TypeError('options must be an object, received 5 (number)'),
    );
    expect(() => sse({ maxConnections: 'ten' as never })).toThrow(
      new TypeError('options.maxConnections must be an integer, received "ten" (string)'),
    );
    expect(() => sse({ colour: 'red' } as never)).toThrow(/^options\.colour must be one of/);
  });

  it('is a Koa middleware for any app state and context, exposing its engine', () => {
    const middleware = sse({ maxConnections: 3 });
    expectTypeOf(middleware).toExtend<Koa.Middleware>();
    const typed = new Koa<{ user: string }, { tenant: string }>();
    typed.use(sse());
    expectTypeOf(sse<{ user: string }>()).toEqualTypeOf<SseMiddleware<{ user: string }>>();
    expect(middleware.engine.connections.max).toBe(3);
    expect(middleware.engine.connections.active).toBe(0);
  });
});

describe('sse() in a Koa app', () => {
  it('keeps headers set upstream with ctx.set(), and its own SSE headers win', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.set('X-Request-Id', 'req-1');
      ctx.set('Cache-Control', 'public, max-age=60');
      await next();
    });
    app.use(sse({ chunkGenerator: ticks }));
    const { url } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`);
    expect(stream.headers['x-request-id']).toBe('req-1');
    expect(stream.headers['cache-control']).toBe(
      'no-cache, no-store, max-age=0, must-revalidate, no-transform',
    );
    await stream.waitForEvents(1);
    stream.destroy();
  });

  it('resolves once the stream has started, so upstream middleware resumes while it streams', async () => {
    const resumed = signalled<{ respond: boolean | undefined; status: number; sent: boolean }>();
    const app = new Koa();
    app.use(async (ctx, next) => {
      await next();
      resumed.resolve({ respond: ctx.respond, status: ctx.status, sent: ctx.headerSent });
    });
    const middleware = sse({ chunkGenerator: ticks });
    app.use(middleware);
    const { url, errors } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`);
    expect(await resumed.promise).toEqual({ respond: false, status: 200, sent: true });
    const before = (await stream.waitForEvents(1)).length;
    await stream.waitForEvents(before + 3);
    expect(stream.isEnded).toBe(false);
    stream.destroy();
    await until(() => middleware.engine.connections.active === 0, 'the slot to be freed');
    expect(errors).toEqual([]);
  });

  it('lets Koa report a middleware that throws after next(), while the stream carries on', async () => {
    const app = new Koa();
    app.use(failingUpstream);
    const middleware = sse({ maxConnections: 1, chunkGenerator: ticks });
    app.use(middleware);
    const { url, errors } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`);
    await until(() => errors.length > 0, 'Koa to report the upstream failure');
    const received = stream.events.length;
    await stream.waitForEvents(received + 3);
    expect(stream.text).toMatch(/^(data: tick\n\n)+$/);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UpstreamFailure);
    expect(errors[0]).toMatchObject({ headerSent: true });
    stream.destroy();
    await until(() => middleware.engine.connections.active === 0, 'the slot to be freed');
    const next = await openStream(`${url}/?stream=true`);
    expect(next.status).toBe(200);
    next.destroy();
  });

  it('reports nothing to Koa when clients leave, even by resetting the connection', async () => {
    async function* flood(ctx: StreamContext): AsyncGenerator<Chunk> {
      while (!ctx.signal.aborted) yield { data: 'x'.repeat(16 * 1024) };
    }
    const app = new Koa();
    const middleware = sse({ maxConnections: 0, source: (_req, ctx) => flood(ctx) });
    app.use(middleware);
    const { url, errors } = await serve(app);
    for (let i = 0; i < 3; i += 1) {
      const reading = await openStream(`${url}/?stream=true`);
      await reading.waitForEvents(2);
      reading.destroy();
      // Closing a socket with unread data in its receive buffer sends a TCP reset.
      const stalled = await openStream(`${url}/?stream=true`);
      stalled.pause();
      await sleep(200);
      stalled.destroy();
    }
    await until(() => middleware.engine.connections.active === 0, 'every slot to be freed');
    await sleep(100);
    expect(errors).toEqual([]);
  });
});

describe('sse().close()', () => {
  it('ends every stream with a final event, so that server.close() can finish', async () => {
    const app = new Koa();
    const streams = sse({ chunkGenerator: ticks });
    app.use(streams);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => {
      server.closeAllConnections();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stream = await openStream(`${url}/?stream=true`);
    await stream.waitForEvents(1);
    await streams.close({ retry: 1000 });
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    await stream.ended;
    expect(stream.events.at(-1)?.event).toBe('shutdown');
    expect(streams.engine.connections.active).toBe(0);
  });
});

describe('the default chunk generator', () => {
  it('sends each poll through the whole app, where upstream middleware sees it too', async () => {
    const seen: string[] = [];
    let served = 0;
    const app = new Koa();
    app.use(async (ctx, next) => {
      seen.push(`${ctx.method} ${ctx.url}`);
      await next();
    });
    app.use(sse());
    app.use((ctx) => {
      served += 1;
      ctx.body = { served };
    });
    const { url } = await serve(app);
    const stream = await openStream(`${url}/feed?stream=true`);
    const events = await stream.waitForEvents(2, 4000);
    stream.destroy();
    expect(events.slice(0, 2).map((e) => JSON.parse(e.data))).toEqual([
      { served: 1 },
      { served: 2 },
    ]);
    expect(seen.slice(0, 3)).toEqual(Array(3).fill('GET /feed?stream=true'));
  });

  it("forwards the client's address, so ctx.ip is the client's", async () => {
    const app = new Koa();
    app.use(sse({ requestMatcher: uriMatch('/me') }));
    app.use((ctx) => {
      ctx.body = { ip: ctx.ip };
    });
    const { url } = await serve(app);
    const stream = await openStream(`${url}/me`);
    const [event] = await stream.waitForEvents(1);
    stream.destroy();
    expect(JSON.parse(event!.data).ip).toMatch(/127\.0\.0\.1$/);
  });

  it('ends with an error event when a matcher drops the Koa context from the request', async () => {
    const errors: unknown[] = [];
    const app = new Koa();
    app.use(
      sse({
        onError: (error) => errors.push(error),
        requestMatcher: (req) =>
          req.path === '/bare'
            ? { method: req.method, path: req.path, query: req.query, headers: req.headers }
            : undefined,
      }),
    );
    const { url } = await serve(app);
    const stream = await openStream(`${url}/bare`);
    await stream.ended;
    expect(stream.events).toHaveLength(1);
    expect(stream.events[0]?.event).toBe('error');
    expect(stream.events[0]?.data).toMatch(/^Error - \(TypeError\) .*raw, received undefined/);
    expect(errors).toHaveLength(1);
    expect((await fetchRaw(`${url}/`)).status).toBe(404);
  });
});

describe('sse() on node:http2', () => {
  it('streams through the compatibility API, and polls the app for the same request', async () => {
    const app = new Koa();
    app.use(sse());
    app.use((ctx) => {
      ctx.body = { path: ctx.path, headers: Object.keys(ctx.headers) };
    });
    const server = createHttp2Server(app.callback());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => {
      session.destroy();
      server.close();
    });
    const stream = session.request({ ':path': '/app/metrics?stream=true' });
    const [headers] = (await once(stream, 'response')) as [Record<string, unknown>];
    stream.setEncoding('utf8');
    let text = '';
    for await (const chunk of stream) {
      text += chunk;
      if (text.includes('\n\n')) break;
    }
    expect(headers[':status']).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    const polled = JSON.parse(text.replace(/^data: /, ''));
    expect(polled.path).toBe('/app/metrics');
    expect(polled.headers.some((name: string) => name.startsWith(':'))).toBe(false);
  });
});
