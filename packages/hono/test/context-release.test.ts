import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openStream } from '@sse-middleware/conformance';
import { createChannel, type SseRequest, uriMatch } from '@sse-middleware/core';
import { type Context, Hono } from 'hono';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse, sseRoute } from '../src/index.js';
import { RawHeaderList } from '../src/request.js';
import { listen } from './fixture.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** An app whose first middleware keeps a weak reference to every request's Context. */
function appWithContextRefs() {
  const contexts: WeakRef<Context>[] = [];
  const app = new Hono();
  app.use(async (c, next) => {
    contexts.push(new WeakRef(c));
    await next();
  });
  return { app, contexts };
}

async function served(app: Hono) {
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server;
}

/** Collects garbage until every context is gone, or gives up after a few rounds (then some are left). */
async function collected(contexts: readonly WeakRef<Context>[]): Promise<number> {
  for (let round = 0; round < 5; round += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    if (contexts.every((ref) => ref.deref() === undefined)) break;
  }
  return contexts.filter((ref) => ref.deref() !== undefined).length;
}

describe('the Context of an open stream (@hono/node-server)', () => {
  it('is freed once a channel stream has started, which then still delivers', async () => {
    const { app, contexts } = appWithContextRefs();
    const channel = createChannel();
    const seen: { opened: unknown[]; closed: unknown[] } = { opened: [], closed: [] };
    const streams = sse({
      requestMatcher: uriMatch('/events'),
      source: channel.source(),
      heartbeat: 0,
      hooks: {
        // What the hooks were given, without keeping the Context.
        opened: (req) => seen.opened.push(typeof req.raw),
        closed: (req) => seen.closed.push(typeof req.raw),
      },
    });
    app.use(streams);
    const server = await served(app);
    const stream = await openStream(`${server.url}/events`);
    await expect.poll(() => channel.stats().subscribers).toBe(1);
    expect(await collected(contexts)).toBe(0);
    await channel.publish('message', 'after the Context');
    await stream.waitForEvents(1);
    expect(stream.events.map((event) => event.data)).toEqual(['after the Context']);
    stream.destroy();
    await expect.poll(() => streams.engine.connections.active).toBe(0);
    expect(seen).toEqual({ opened: ['object'], closed: ['undefined'] });
  });

  it('is freed for a route stream too', async () => {
    const { app, contexts } = appWithContextRefs();
    const channel = createChannel();
    app.get('/events', sseRoute({ source: channel.source(), heartbeat: 0 }));
    const server = await served(app);
    const stream = await openStream(`${server.url}/events`);
    await expect.poll(() => channel.stats().subscribers).toBe(1);
    expect(await collected(contexts)).toBe(0);
    stream.destroy();
  });

  it('is kept for a chunk generator, which reads it on every tick', async () => {
    const { app, contexts } = appWithContextRefs();
    const users: unknown[] = [];
    app.use(async (c, next) => {
      c.set('user' as never, 'ada' as never);
      await next();
    });
    app.use(
      sse({
        requestMatcher: uriMatch('/events'),
        chunkGenerator: async (req) => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          users.push((req.raw as Context).get('user' as never));
          return { data: 'tick' };
        },
      }),
    );
    const server = await served(app);
    const stream = await openStream(`${server.url}/events`);
    await stream.waitForEvents(2);
    expect(await collected(contexts)).toBe(1);
    await stream.waitForEvents(3);
    expect(users.slice(0, 3)).toEqual(['ada', 'ada', 'ada']);
    stream.destroy();
  });
});

describe('request headers on @hono/node-server', () => {
  it('are read from the Node request: any case, repeated fields joined', async () => {
    const app = new Hono();
    let seen: SseRequest | undefined;
    app.use(
      sse({
        requestMatcher: (req) => {
          seen = req;
          return undefined;
        },
        source: createChannel().source(),
      }),
    );
    app.get('*', (c) => c.text('passed on'));
    const server = await served(app);
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/x', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.setHeader('X-Tag', ['a', 'b']);
      req.setHeader('Cookie', ['k=1', 'l=2']);
      req.on('error', reject);
      req.end();
    });
    expect(seen!.headers.get('x-tag')).toBe('a, b');
    expect(seen!.headers.get('X-TAG')).toBe('a, b');
    expect(seen!.headers.get('cookie')).toBe('k=1; l=2');
    expect(seen!.headers.get('x-missing')).toBeNull();
  });

  it('RawHeaderList reads a raw list as Headers.get does', () => {
    const list = new RawHeaderList([
      'Host',
      'h',
      'Accept',
      'a',
      'accept',
      'b',
      'Last-Event-ID',
      '',
    ]);
    expect(list.get('accept')).toBe('a, b');
    expect(list.get('host')).toBe('h');
    expect(list.get('last-event-id')).toBe('');
    expect(list.get('hos')).toBeNull();
  });
});
