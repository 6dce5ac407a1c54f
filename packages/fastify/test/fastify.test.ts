import { connect } from 'node:http2';
import { Writable } from 'node:stream';
import {
  type ConformanceServer,
  type EchoBody,
  fetchRaw,
  openStream,
  until,
} from '@sse-middleware/conformance';
import { type Chunk, type StreamContext, uriMatch, wrapDelay } from '@sse-middleware/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import sseDefault, { type FastifySseOptions, sse, sseMiddleware, sseReply } from '../src/index.js';
import { innerApp, listen } from './fixture.js';

const SSE_CONTENT_TYPE = 'text/event-stream;charset=UTF-8';
const tick = wrapDelay(() => ({ data: 'tick' }), 20);

/** A source that never yields: the stream stays open with headers only. */
async function* hang(_req: unknown, ctx: StreamContext): AsyncGenerator<Chunk> {
  await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
}

async function serve(
  build: (app: FastifyInstance) => Promise<void>,
  options: FastifyServerOptions = {},
): Promise<ConformanceServer> {
  const app = Fastify({ forceCloseConnections: true, ...options });
  await build(app);
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server;
}

describe('registration', () => {
  it('is a fastify-plugin, exported as sse, as its earlier name sseMiddleware and as default', () => {
    expect(sseDefault).toBe(sse);
    expect(sseMiddleware).toBe(sse);
    expect((sse as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')]).toBe(true);
  });

  it.each([
    [
      { maxConnections: 'ten' },
      'options.maxConnections must be an integer, received "ten" (string)',
    ],
    [{ requestMatcher: '/score' }, 'options.requestMatcher must be a function'],
    [{ maxConections: 5 }, 'options.maxConections must be one of'],
    [{ prefix: '/api' }, 'options.prefix must be absent'],
    [{ name: 42 }, 'options.name must be a non-empty string, received 42 (number)'],
  ])('rejects invalid options %j with a TypeError naming them', async (options, message) => {
    const app = Fastify();
    onTestFinished(() => app.close());
    const registered = app.register(sseMiddleware, options as FastifySseOptions);
    await expect(registered).rejects.toThrow(TypeError);
    await expect(app.ready()).rejects.toThrow(message);
  });

  it('can be registered more than once in one context, the first registered matching first', async () => {
    const server = await serve(async (app) => {
      await app.register(sseMiddleware, {
        requestMatcher: uriMatch('/score'),
        chunkGenerator: () => ({ data: 'score' }),
      });
      await app.register(sseMiddleware, { chunkGenerator: () => ({ data: 'default' }) });
      await app.register(innerApp);
    });
    const score = await openStream(`${server.url}/score?stream=true`);
    expect((await score.waitForEvents(1))[0]?.data).toBe('score');
    score.destroy();
    const other = await openStream(`${server.url}/other?stream=true`);
    expect((await other.waitForEvents(1))[0]?.data).toBe('default');
    other.destroy();
  });
});

describe('encapsulation', () => {
  it('applies to the routes of the context it is registered in, and its children', async () => {
    const server = await serve(async (app) => {
      await app.register(
        async (api) => {
          await api.register(sseMiddleware, { chunkGenerator: tick });
          api.get('/items', async () => ({ items: [] }));
          await api.register(async (child) => {
            child.get('/child', async () => ({ child: true }));
          });
        },
        { prefix: '/api' },
      );
      app.get('/outside', async () => ({ outside: true }));
    });
    for (const path of ['/api/items', '/api/child']) {
      const stream = await openStream(`${server.url}${path}?stream=true`);
      expect(stream.headers['content-type'], path).toBe(SSE_CONTENT_TYPE);
      stream.destroy();
    }
    const outside = await fetchRaw(`${server.url}/outside?stream=true`);
    expect(outside.body).toBe('{"outside":true}');
  });

  it('on the root instance, also matches URLs that no route answers', async () => {
    const server = await serve(async (app) => {
      await app.register(sseMiddleware, {
        requestMatcher: uriMatch('/score'),
        chunkGenerator: () => ({ data: '180,4' }),
      });
    });
    const stream = await openStream(`${server.url}/score`);
    expect(stream.headers['content-type']).toBe(SSE_CONTENT_TYPE);
    expect((await stream.waitForEvents(1))[0]?.data).toBe('180,4');
    stream.destroy();
    expect((await fetchRaw(`${server.url}/scores`)).status).toBe(404);
  });

  it('in a prefixed context, matches unrouted URLs once that context has its own not-found handler', async () => {
    const server = await serve(async (app) => {
      await app.register(
        async (live) => {
          await live.register(sseMiddleware, {
            requestMatcher: uriMatch('/live/score'),
            chunkGenerator: () => ({ data: 'live' }),
          });
          live.setNotFoundHandler((_request, reply) => reply.code(404).send({ scope: 'live' }));
        },
        { prefix: '/live' },
      );
    });
    const stream = await openStream(`${server.url}/live/score`);
    expect((await stream.waitForEvents(1))[0]?.data).toBe('live');
    stream.destroy();
  });
});

describe('hooks around the stream', () => {
  it('keeps headers set by earlier hooks, except a Content-Length', async () => {
    const server = await serve(async (app) => {
      app.addHook('onRequest', (_request, reply, done) => {
        reply.header('x-request-tag', 'kept').header('content-length', '12');
        done();
      });
      await app.register(sseMiddleware, { chunkGenerator: tick });
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    expect(stream.headers['x-request-tag']).toBe('kept');
    expect(stream.headers['content-length']).toBeUndefined();
    await stream.waitForEvents(3);
    stream.destroy();
  });

  it('lets an earlier hook refuse the request, and runs no later hook or handler', async () => {
    const later: string[] = [];
    const server = await serve(async (app) => {
      app.addHook('onRequest', async (request, reply) => {
        if (request.headers.authorization !== 'Bearer ok') return reply.code(401).send();
      });
      await app.register(sseMiddleware, { chunkGenerator: tick });
      app.addHook('onRequest', async (request) => {
        later.push(`onRequest ${request.url}`);
      });
      app.addHook('preHandler', async (request) => {
        later.push(`preHandler ${request.url}`);
      });
      app.get('/', async () => ({ ok: true }));
    });
    expect((await fetchRaw(`${server.url}/?stream=true`)).status).toBe(401);
    const stream = await openStream(`${server.url}/?stream=true`, {
      headers: { Authorization: 'Bearer ok' },
    });
    await stream.waitForEvents(2);
    stream.destroy();
    expect(later).toEqual([]);
  });

  it('still runs onRequestAbort hooks when the client leaves, and onResponse hooks when the stream ends', async () => {
    const seen: string[] = [];
    const server = await serve(async (app) => {
      app.addHook('onRequestAbort', async (request) => {
        seen.push(`abort ${request.url}`);
      });
      app.addHook('onResponse', async (request, reply) => {
        seen.push(`response ${request.url} ${reply.statusCode}`);
      });
      await app.register(sseMiddleware, {
        requestMatcher: uriMatch('/ends'),
        source: () => [{ data: 'only' }],
      });
      await app.register(sseMiddleware, { chunkGenerator: tick });
    });
    const ending = await openStream(`${server.url}/ends`);
    await ending.ended;
    const left = await openStream(`${server.url}/?stream=true`);
    await left.waitForEvents(1);
    left.destroy();
    await until(() => seen.length === 2, 'both hooks');
    expect(seen).toEqual(['response /ends 200', 'abort /?stream=true']);
  });
});

describe('the default chunk generator', () => {
  it("runs the route again through the app's hooks, with the client's address", async () => {
    const hookSaw: string[] = [];
    const server = await serve(async (app) => {
      app.addHook('onRequest', async (request) => {
        hookSaw.push(`${request.method} ${request.url}`);
      });
      await app.register(sseMiddleware);
      app.get('/whoami', async (request) => ({
        ip: request.ip,
        query: request.query,
      }));
    });
    const stream = await openStream(`${server.url}/whoami?stream=true`);
    const [first, second] = await stream.waitForEvents(2, 4000);
    stream.destroy();
    for (const event of [first, second]) {
      expect(JSON.parse(event!.data)).toEqual({
        ip: '127.0.0.1',
        query: { stream: 'true' },
      });
    }
    expect(hookSaw.slice(0, 3)).toEqual(Array(3).fill('GET /whoami?stream=true'));
  });

  it('polls the rewritten request of a matcher, answered by the not-found handler when no route matches', async () => {
    const errors: unknown[] = [];
    const server = await serve(async (app) => {
      await app.register(sseMiddleware, {
        requestMatcher: uriMatch('/nowhere'),
        onError: (error) => errors.push(error),
      });
    });
    const stream = await openStream(`${server.url}/nowhere`);
    await stream.ended;
    expect(stream.events[0]?.data).toMatch(/InnerResponseError.*404/);
    expect(errors).toHaveLength(1);
  });
});

describe('fastify.sseStreams and shutdown', () => {
  it('counts the streams of every registration, in every context, and of each named one', async () => {
    let app!: FastifyInstance;
    const server = await serve(async (root) => {
      app = root;
      await root.register(sseMiddleware, { chunkGenerator: tick });
      await root.register(
        async (api) => {
          await api.register(sseMiddleware, {
            name: 'live',
            requestMatcher: uriMatch('/api/live'),
            chunkGenerator: tick,
          });
          api.get('/live', async () => 'not streamed');
        },
        { prefix: '/api' },
      );
      await root.register(innerApp);
    });
    const streams = [
      await openStream(`${server.url}/?stream=true`),
      await openStream(`${server.url}/api/live`),
    ];
    await Promise.all(streams.map((stream) => stream.waitForEvents(1)));
    expect(app.sseStreams.stats()).toMatchObject({ open: 2, opened: 2, closed: 0 });
    expect(app.sseStreams.stats('live')).toMatchObject({ open: 1, opened: 1 });
    expect(() => app.sseStreams.stats('dead')).toThrow(
      'sseStreams.stats(name) must be the name of a registration (live), received "dead" (string)',
    );
    for (const stream of streams) stream.destroy();
    await until(() => app.sseStreams.stats().open === 0, 'both slots freed');
    expect(app.sseStreams.stats()).toMatchObject({ opened: 2, closed: 2 });
  });

  it('sseStreams.disconnect({ key }) ends a user’s streams in every registration and counts them', async () => {
    let app!: FastifyInstance;
    const authorize = (req: { headers: { get(name: string): string | null } }) => {
      const user = req.headers.get('x-user');
      return user ? { key: user } : undefined;
    };
    const server = await serve(async (root) => {
      app = root;
      await root.register(sseMiddleware, { source: hang, authorize });
      await root.register(sseMiddleware, {
        requestMatcher: uriMatch('/live'),
        source: hang,
        authorize,
      });
      await root.register(innerApp);
    });
    const streams = [
      await openStream(`${server.url}/?stream=true`, { headers: { 'x-user': 'alice' } }),
      await openStream(`${server.url}/live`, { headers: { 'x-user': 'alice' } }),
      await openStream(`${server.url}/live`, { headers: { 'x-user': 'bob' } }),
    ];
    await until(() => app.sseStreams.stats().open === 3, 'three streams');
    expect(await app.sseStreams.disconnect({ key: 'alice' })).toBe(2);
    await Promise.all([streams[0]!.ended, streams[1]!.ended]);
    expect(streams[1]!.text).toContain('event: reauth\ndata: {"reason":"revoked"}\n\n');
    expect(streams[2]!.isEnded).toBe(false);
    for (const stream of streams) stream.destroy();
  });

  it('refuses a second registration with the same name', async () => {
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(sseMiddleware, { name: 'ticks', chunkGenerator: tick });
    const second = app.register(async (child) => {
      await child.register(sseMiddleware, { name: 'ticks', chunkGenerator: tick });
    });
    await expect(second).rejects.toThrow(
      'options.name must be unique on the app, received "ticks" (string)',
    );
  });

  it('ends every stream with a shutdown event on fastify.close(), so close() does not wait for them', async () => {
    const app = Fastify();
    await app.register(sseMiddleware, { chunkGenerator: tick });
    await app.register(
      async (api) => {
        await api.register(sseMiddleware, { requestMatcher: uriMatch('/api/live'), source: hang });
        api.get('/live', async () => 'not streamed');
      },
      { prefix: '/api' },
    );
    await app.register(innerApp);
    const { url } = await listen(app);
    const streams = [await openStream(`${url}/?stream=true`), await openStream(`${url}/api/live`)];
    await streams[0]!.waitForEvents(1);
    await app.close();
    for (const stream of streams) {
      await stream.ended;
      expect(stream.events.at(-1)?.event).toBe('shutdown');
    }
  });
});

describe("Fastify's logger", () => {
  it('logs no warning or error when clients disconnect, mid-poll or between polls', async () => {
    const lines: { level: number; msg: string }[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)));
        callback();
      },
    });
    let slowEntered = 0;
    const server = await serve(
      async (app) => {
        await app.register(sseMiddleware);
        await app.register(innerApp);
        app.get('/slow', async () => {
          slowEntered += 1;
          await new Promise((resolve) => setTimeout(resolve, 300));
          return { slow: true };
        });
      },
      { logger: { level: 'trace', stream } },
    );
    const between = await openStream(`${server.url}/?stream=true`);
    await between.waitForEvents(1);
    between.destroy();
    const midPoll = await openStream(`${server.url}/slow?stream=true`);
    await until(() => slowEntered === 1, 'the inner request');
    midPoll.destroy();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  });
});

describe('HTTP/2', () => {
  it('streams over h2c and polls the route without pseudo-headers', async () => {
    const app = Fastify({ http2: true, forceCloseConnections: true });
    await app.register(sseMiddleware);
    app.get('/', async (request) => ({
      method: request.method,
      path: '/',
      query: 'stream=true',
      now: Date.now(),
      pseudo: Object.keys(request.headers).filter((name) => name.startsWith(':')),
    }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    onTestFinished(() => app.close());
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('not a TCP address');
    const session = connect(`http://127.0.0.1:${address.port}`);
    onTestFinished(() => void session.destroy());
    const req = session.request({ ':path': '/?stream=true' });
    const headers = await new Promise<Record<string, unknown>>((resolve) =>
      req.once('response', resolve),
    );
    expect(headers['content-type']).toBe(SSE_CONTENT_TYPE);
    const text = await new Promise<string>((resolve) => {
      let received = '';
      req.on('data', (chunk: Buffer) => {
        received += chunk.toString();
        if (received.includes('\n\n')) resolve(received);
      });
    });
    req.close();
    const echo = JSON.parse(text.slice('data: '.length).trim()) as EchoBody & { pseudo: string[] };
    expect(echo).toMatchObject({ method: 'GET', pseudo: [] });
  });
});

describe('reply.sseStream() and the sseStream route option', () => {
  it('gives each route its own options, named in sseStreams, on top of the plugin defaults', async () => {
    const server = await serve(async (app) => {
      await app.register(sseReply, { heartbeat: 0, endEvent: { data: 'default end' } });
      app.post<{ Body: { words: string[] } }>(
        '/own',
        { sseStream: { name: 'own', endEvent: { data: '[DONE]' } } },
        (request, reply) =>
          reply.sseStream({ source: request.body.words.map((data) => ({ data })) }),
      );
      app.post('/plain', { sseStream: true }, (_request, reply) =>
        reply.sseStream({ source: [{ data: 'x' }] }),
      );
      app.get('/stats', async () => app.sseStreams.stats('own'));
      // A named GET: Fastify adds its HEAD route with the same options, and the same engine.
      app.get('/named', { sseStream: { name: 'named' } }, (_request, reply) =>
        reply.sseStream({ source: [{ data: 'n' }] }),
      );
    });
    const own = await fetch(`${server.url}/own`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ words: ['a', 'b'] }),
    });
    expect(await own.text()).toBe('data: a\n\ndata: b\n\ndata: [DONE]\n\n');
    const plain = await fetch(`${server.url}/plain`, { method: 'POST' });
    expect(await plain.text()).toBe('data: x\n\ndata: default end\n\n');
    const stats = await (await fetch(`${server.url}/stats`)).json();
    expect(stats).toMatchObject({ opened: 1, closed: 1 });
  });

  it('refuses a bad route option when the route is declared, naming it', async () => {
    const app = Fastify();
    onTestFinished(() => app.close());
    await app.register(sseReply);
    expect(() =>
      app.post('/bad', { sseStream: { maxStreamDuration: -1 } }, (_request, reply) =>
        reply.sseStream(),
      ),
    ).toThrow(/options\.maxStreamDuration/);
  });

  it('ends its streams gracefully on app.close()', async () => {
    const app = Fastify({ forceCloseConnections: true });
    await app.register(sseReply, { heartbeat: 0 });
    app.get('/hang', (_request, reply) => reply.sseStream({ source: hang }));
    const server = await listen(app);
    const stream = await openStream(`${server.url}/hang`);
    const closing = app.close();
    await stream.ended;
    await closing;
    expect(stream.text).toContain('event: shutdown');
  });
});
