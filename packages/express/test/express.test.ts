import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import {
  type ConformanceServer,
  fetchRaw,
  firstCompressedEvent,
  NO_TRANSFORM_DROPPED,
  openStream,
  polledEcho,
  spacedEvents,
  UpstreamFailure,
  until,
} from '@sse-middleware/conformance';
import {
  type Chunk,
  InnerResponseError,
  type SseOptions,
  type StreamContext,
  uriMatch,
  uriPrefixMatch,
  wrapDelay,
} from '@sse-middleware/core';
import compression from 'compression';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
} from 'express';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import { type SseMiddleware, type SseRoute, sse, sseRoute } from '../src/index.js';
import { failingUpstream, innerApp, isStream, listen } from './fixture.js';

/** Serves `app` for the current test on 127.0.0.1, port 0. */
async function serve(app: Express): Promise<ConformanceServer> {
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server;
}

/** Error-handling middleware that records what reaches it, and answers 502 when it still can. */
function recordingErrors() {
  const seen: { error: unknown; path: string; headersSent: boolean }[] = [];
  const handler: ErrorRequestHandler = (error, req, res, next) => {
    seen.push({ error, path: req.originalUrl, headersSent: res.headersSent });
    if (res.headersSent) {
      next(error); // as Express's documentation has it: the default handler closes the connection
      return;
    }
    res.status(502).type('text/plain').send('from the error handler');
  };
  return { seen, handler };
}

const ticks = wrapDelay((): Chunk => ({ data: 'tick' }), 20);

/** Yields each word of `ctx.body.message`. */
async function* words(_req: unknown, ctx: StreamContext) {
  const { message } = ctx.body as { message: string };
  for (const word of message.split(' ')) yield { data: word };
}

describe('sse() and sseRoute()', () => {
  it('throw a TypeError naming the option and the value received, at once', () => {
    expect(() => sse(5 as never)).toThrow(
      new TypeError('options must be an object, received 5 (number)'),
    );
    expect(() => sse({ maxConnections: 'ten' as never })).toThrow(
      new TypeError('options.maxConnections must be an integer, received "ten" (string)'),
    );
    expect(() => sse({ colour: 'red' } as never)).toThrow(/^options\.colour must be one of/);
    expect(() => sse({ requestMatcher: '/events' as never })).toThrow(
      /^options\.requestMatcher must be a function/,
    );
    expect(() => sseRoute({ requestMatcher: uriMatch('/x') } as never)).toThrow(
      /^options\.requestMatcher must be absent for a route/,
    );
  });

  it("are Express's handlers, with the core's handle", () => {
    const middleware = sse({ maxConnections: 3 });
    expectTypeOf(middleware).toExtend<RequestHandler>();
    expectTypeOf(middleware).toEqualTypeOf<SseMiddleware>();
    expect(middleware.engine.connections).toMatchObject({ active: 0, max: 3 });
    expect(typeof middleware.close).toBe('function');
    expect(typeof middleware.disconnect).toBe('function');
    const route = sseRoute({ source: () => [] });
    expectTypeOf(route).toExtend<RequestHandler>();
    expectTypeOf(route.respond).parameters.toEqualTypeOf<
      [Request, express.Response, Parameters<SseRoute['respond']>[2]?]
    >();
    // Typed route parameters and queries are Express requests too.
    const app = express();
    app.get('/chat/:id/stream', (req, res) => route.respond(req, res));
    app.use(express.Router().use(middleware));
  });
});

describe('sse() on a router', () => {
  it('streams what matches under the mount path and passes the rest on with next()', async () => {
    const app = express();
    const api = express.Router();
    api.use(sse({ requestMatcher: uriMatch('/events'), chunkGenerator: ticks }));
    api.get('/other', (req, res) => {
      res.json({ path: req.originalUrl });
    });
    app.use('/api', api);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/api/events`);
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    await stream.waitForEvents(2);
    stream.destroy();
    expect(JSON.parse((await fetchRaw(`${url}/api/other`)).body)).toEqual({ path: '/api/other' });
    expect((await fetchRaw(`${url}/events`)).status).toBe(404);
  });

  it('polls the whole app, from its first middleware, at the full path of the matched request', async () => {
    const app = express();
    const seen: string[] = [];
    app.use((req, _res, next) => {
      seen.push(req.originalUrl);
      next();
    });
    const api = express.Router();
    api.use(sse());
    api.get('/metrics', (req, res) => {
      res.json({ originalUrl: req.originalUrl, baseUrl: req.baseUrl, url: req.url });
    });
    app.use('/api', api);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/api/metrics?stream=true`);
    const [event] = await stream.waitForEvents(1);
    stream.destroy();
    expect(JSON.parse(event!.data)).toEqual({
      originalUrl: '/api/metrics?stream=true',
      baseUrl: '/api',
      url: '/metrics?stream=true',
    });
    // The client's request, then its poll, through the same first middleware.
    expect(seen.slice(0, 2)).toEqual(['/api/metrics?stream=true', '/api/metrics?stream=true']);
  });

  it('polls through the outer app when sse() is in a mounted sub-app', async () => {
    const app = express();
    const sub = express();
    sub.use(sse());
    sub.get('/feed', (req, res) => {
      res.json({ originalUrl: req.originalUrl, inSubApp: req.app === sub });
    });
    app.use('/sub', sub);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/sub/feed?stream=true`);
    const [event] = await stream.waitForEvents(1);
    stream.destroy();
    expect(JSON.parse(event!.data)).toEqual({
      originalUrl: '/sub/feed?stream=true',
      inSubApp: true,
    });
  });

  it('polls the app of each stream when one sse() serves two apps', async () => {
    const streams = sse();
    const urls: string[] = [];
    for (const name of ['first', 'second']) {
      const app = express();
      app.use(streams);
      app.get('/who', (_req, res) => {
        res.json({ app: name });
      });
      urls.push((await serve(app)).url);
    }
    const opened = await Promise.all(urls.map((url) => openStream(`${url}/who?stream=true`)));
    const events = await Promise.all(opened.map((stream) => stream.waitForEvents(2)));
    for (const stream of opened) stream.destroy();
    expect(events.map((received) => received.map((e) => JSON.parse(e.data).app))).toEqual([
      ['first', 'first'],
      ['second', 'second'],
    ]);
    expect(streams.engine.stats().opened).toBe(2);
  });

  it('strips the prefix of uriPrefixMatch under the mount path, like at the root', async () => {
    const app = express();
    const api = express.Router();
    api.use(sse({ requestMatcher: uriPrefixMatch('/sse') }));
    api.get('/price', (req, res) => {
      res.json({ originalUrl: req.originalUrl });
    });
    app.use('/api', api);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/api/sse/price`);
    const [event] = await stream.waitForEvents(1);
    stream.destroy();
    expect(JSON.parse(event!.data)).toEqual({ originalUrl: '/api/price' });
  });
});

describe('bodies', () => {
  const message = JSON.stringify({ message: 'parsed in front' });

  it('sseRoute() after express.json() streams from req.body', async () => {
    const app = express();
    let parsedInFront: unknown;
    app.post(
      '/v1/completions',
      express.json(),
      (req, _res, next) => {
        parsedInFront = req.body;
        next();
      },
      sseRoute({ body: 'json', source: words, endEvent: { data: '[DONE]' } }),
    );
    const { url } = await serve(app);
    const stream = await openStream(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: message,
    });
    await stream.ended;
    expect(parsedInFront).toEqual({ message: 'parsed in front' });
    expect(stream.events.map((e) => e.data)).toEqual(['parsed', 'in', 'front', '[DONE]']);
  });

  it('sseRoute() reads the body itself when express.json() left it (another Content-Type)', async () => {
    const app = express();
    app.post('/v1/completions', express.json(), sseRoute({ body: 'json', source: words }));
    const { url } = await serve(app);
    const stream = await openStream(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: message,
    });
    await stream.ended;
    expect(stream.events.map((e) => e.data)).toEqual(['parsed', 'in', 'front']);
  });

  it('sse() with a POST matcher after app.use(express.json()) streams from req.body', async () => {
    const app = express();
    app.use(express.json());
    app.use(
      sse({ requestMatcher: uriMatch('/chat', { methods: 'POST' }), body: 'json', source: words }),
    );
    const { url } = await serve(app);
    const stream = await openStream(`${url}/chat`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: message,
    });
    await stream.ended;
    expect(stream.events.map((e) => e.data)).toEqual(['parsed', 'in', 'front']);
  });

  it("malformed JSON refused by express.json() is Express's error, and the route never runs", async () => {
    const app = express();
    let started = 0;
    const errors = recordingErrors();
    app.post(
      '/v1/completions',
      express.json(),
      sseRoute({
        body: 'json',
        source: () => {
          started += 1;
          return [];
        },
      }),
    );
    app.use(errors.handler);
    const { url } = await serve(app);
    const answer = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"message": ',
    });
    expect([answer.status, await answer.text()]).toEqual([502, 'from the error handler']);
    expect(errors.seen).toHaveLength(1);
    expect(errors.seen[0]?.error).toMatchObject({ status: 400, type: 'entity.parse.failed' });
    expect(started).toBe(0);
  });
});

describe('what reaches the error-handling middleware', () => {
  it('a requestMatcher that throws: next(error), before anything is sent; no slot taken', async () => {
    const app = express();
    const errors = recordingErrors();
    const reported: unknown[] = [];
    const streams = sse({
      requestMatcher: () => {
        throw new Error('matcher failed');
      },
      chunkGenerator: ticks,
      onError: (error) => reported.push(error),
    });
    app.use(streams);
    app.use(errors.handler);
    const { url } = await serve(app);
    const answer = await fetchRaw(`${url}/anything`);
    expect([answer.status, answer.body]).toEqual([502, 'from the error handler']);
    expect(errors.seen).toEqual([
      { error: new Error('matcher failed'), path: '/anything', headersSent: false },
    ]);
    expect(reported).toEqual([]);
    expect(streams.engine.connections.active).toBe(0);
  });

  it('sseRoute() with no source at all: the TypeError goes to next(error)', async () => {
    const app = express();
    const errors = recordingErrors();
    app.get('/stream', sseRoute({}));
    app.use(errors.handler);
    const { url } = await serve(app);
    expect((await fetchRaw(`${url}/stream`)).status).toBe(502);
    expect(errors.seen[0]?.error).toBeInstanceOf(TypeError);
    expect(String(errors.seen[0]?.error)).toMatch(/needs init\.source/);
  });

  it('a route that fails during a poll: the app handles it as any request, the stream ends with event: error and onError', async () => {
    const app = express();
    const errors = recordingErrors();
    const reported: unknown[] = [];
    app.use(sse({ requestMatcher: uriPrefixMatch('/sse'), onError: (e) => reported.push(e) }));
    app.get('/boom', () => {
      throw new Error('route failed');
    });
    app.use(errors.handler);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/sse/boom`);
    await stream.ended;
    expect(stream.status).toBe(200);
    expect(stream.events.map((e) => [e.event, e.data])).toEqual([
      ['error', 'Error - (InnerResponseError) Cannot understand response: status 502 is not 2xx'],
    ]);
    // The poll is a request of the app: its error handler saw the route's error, for /boom.
    expect(errors.seen).toEqual([
      { error: new Error('route failed'), path: '/boom', headersSent: false },
    ]);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(InnerResponseError);
  });

  it("a stream's own failure goes to onError and event: error, never to next(error)", async () => {
    const app = express();
    const errors = recordingErrors();
    const reported: unknown[] = [];
    app.use(
      sse({
        requestMatcher: uriMatch('/events'),
        chunkGenerator: () => {
          throw new Error('source failed');
        },
        onError: (error) => reported.push(error),
      }),
    );
    app.use(errors.handler);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/events`);
    await stream.ended;
    expect(stream.events.map((e) => e.event)).toEqual(['error']);
    expect(reported).toEqual([new Error('source failed')]);
    expect(errors.seen).toEqual([]);
  });

  it('a middleware in front that throws after next(): its error arrives with the head sent; the connection is closed and the slot freed', async () => {
    const app = express();
    const errors = recordingErrors();
    app.use(failingUpstream);
    const streams = sse({ chunkGenerator: ticks, maxConnections: 1 });
    app.use(streams);
    app.use(innerApp);
    app.use(errors.handler);
    const { url } = await serve(app);
    for (const _ of [1, 2]) {
      const stream = await openStream(`${url}/?stream=true`);
      expect(stream.status).toBe(200);
      await stream.ended;
      await until(() => streams.engine.connections.active === 0, 'the slot to be freed');
    }
    expect(errors.seen).toHaveLength(2);
    expect(errors.seen.every((seen) => seen.error instanceof UpstreamFailure)).toBe(true);
    expect(errors.seen.every((seen) => seen.headersSent)).toBe(true);
    expect((await fetchRaw(`${url}/`)).status).toBe(200);
  });

  it('an error handler that leaves a started stream alone keeps it streaming', async () => {
    const app = express();
    app.use(failingUpstream);
    app.use(sse({ chunkGenerator: ticks }));
    app.use(((error, _req, res, next) => {
      if (isStream(res) && error instanceof UpstreamFailure) return; // logged elsewhere, say
      next(error);
    }) satisfies ErrorRequestHandler);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`);
    await stream.waitForEvents(3);
    expect(stream.isEnded).toBe(false);
    stream.destroy();
  });
});

describe('app.listen() and graceful shutdown', () => {
  it('close() ends every stream with a final event and a retry hint, then server.close() completes', async () => {
    const app = express();
    const streams = sse({ chunkGenerator: ticks });
    const events = sseRoute({ source: ticksSource });
    app.use(streams);
    app.get('/route', (req, res) => events.respond(req, res));
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => {
      server.closeAllConnections();
      server.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const open = [
      await openStream(`${url}/?stream=true`),
      await openStream(`${url}/?stream=true`),
      await openStream(`${url}/route`),
    ];
    await Promise.all(open.map((stream) => stream.waitForEvents(1)));
    const started = Date.now();
    await Promise.all([streams.close({ retry: 1000 }), events.close({ retry: 1000 })]);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all(open.map((stream) => stream.ended));
    await closed;
    expect(Date.now() - started).toBeLessThan(2000);
    for (const stream of open) {
      expect(stream.events.at(-1)?.event).toBe('shutdown');
      expect(Number(/retry: (\d+)\n/.exec(stream.text)?.[1])).toBeGreaterThanOrEqual(1000);
    }
  });
});

/** One tick event every 20 ms, as a source. */
async function* ticksSource(_req: unknown, ctx: StreamContext) {
  while (!ctx.signal.aborted) {
    yield { data: 'tick' };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('behind compression()', () => {
  /** compression() with `threshold: 0`, so that small bodies qualify, then sse(), then the inner app. */
  async function start(options: Partial<SseOptions> = {}): Promise<string> {
    const app = express();
    app.use(compression({ threshold: 0 }));
    app.use(sse({ chunkGenerator: spacedEvents(), ...options }));
    app.use(innerApp);
    return (await serve(app)).url;
  }

  it('compresses the ordinary routes of the same app', async () => {
    const response = await fetchRaw(`${await start()}/echo`, {
      headers: { 'Accept-Encoding': 'gzip' },
    });
    expect(response.headers['content-encoding']).toBe('gzip');
  });

  it.each(['gzip', 'br'] as const)(
    'leaves the stream uncompressed thanks to no-transform, and the first event arrives at once (%s accepted)',
    async (acceptEncoding) => {
      const result = await firstCompressedEvent(await start(), acceptEncoding);
      expect(result.encoding).toBeUndefined();
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it.each(['gzip', 'br'] as const)(
    'flushes every event when no-transform is dropped and the stream is compressed (%s)',
    async (acceptEncoding) => {
      const result = await firstCompressedEvent(await start(NO_TRANSFORM_DROPPED), acceptEncoding);
      expect(result.encoding).toBe(acceptEncoding);
      expect(result.text).toBe('data: event 1\n\n');
      expect(result.ms).toBeLessThan(1000);
    },
  );

  it('polls the app with an identity encoding: the default generator streams its JSON, not gzip bytes', async () => {
    const result = await firstCompressedEvent(await start({ chunkGenerator: undefined }), 'gzip');
    expect(polledEcho(result.text)).toMatchObject({ method: 'GET', path: '/' });
  });
});
