import uWS from 'uWebSockets.js';
import { type ConformanceServer, fetchRaw, openStream } from '@sse-middleware/conformance';
import {
  acceptEventStream,
  type Chunk,
  createChannel,
  deny,
  type SseRequest,
  uriMatch,
  wrapDelay,
} from '@sse-middleware/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { sse, sseRoute, type UwsRequestCopy } from '../src/index.js';
import { listen } from './fixture.js';

async function serve(app: uWS.TemplatedApp): Promise<ConformanceServer> {
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server;
}

/** What a chunk generator sees of the request: its headers by name, and `req.raw.headers`. */
function seen(req: SseRequest, names: readonly string[]): Chunk {
  const record = (req.raw as UwsRequestCopy).headers;
  const data = names.map((name) => `${name}=${req.headers.get(name)}|${record[name] ?? '-'}`);
  return { data: data.join(' ') };
}

describe('options.requestHeaders', () => {
  it('is an array of header names, or a TypeError names it and the value received', () => {
    const source = () => [];
    expect(() => sse({ source, requestHeaders: 'authorization' as never })).toThrow(
      new TypeError(
        'options.requestHeaders must be an array of header names, received "authorization" (string)',
      ),
    );
    expect(() => sse({ source, requestHeaders: ['x-ok', 'bad name'] })).toThrow(
      new TypeError(
        'options.requestHeaders[1] must be a header name such as "authorization", received "bad name" (string)',
      ),
    );
    expect(() => sseRoute({ requestHeaders: [7 as never] })).toThrow(
      new TypeError(
        'sseRoute(options).requestHeaders[0] must be a header name such as "authorization", received 7 (number)',
      ),
    );
  });

  it('keeps the declared headers, in any case, and no other of the app', async () => {
    const names = ['x-tag', 'x-other', 'cookie'];
    const app = uWS.App().get(
      '/*',
      sse({
        chunkGenerator: wrapDelay((req) => seen(req, names), 20),
        requestHeaders: ['X-Tag', 'Cookie'],
      }),
    );
    const { url } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`, {
      headers: { 'X-Tag': 'a', 'X-Other': 'b', Cookie: 'c=1' },
    });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('x-tag=a|a x-other=null|- cookie=c=1|c=1');
    stream.destroy();
  });

  it('copies every header without it', async () => {
    const names = ['x-tag', 'x-other'];
    const app = uWS
      .App()
      .get('/*', sse({ chunkGenerator: wrapDelay((req) => seen(req, names), 20) }));
    const { url } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`, {
      headers: { 'X-Tag': 'a', 'X-Other': 'b' },
    });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('x-tag=a|a x-other=b|b');
    stream.destroy();
  });

  it('still gives the engine Last-Event-ID, Accept, Origin and Host when none is declared', async () => {
    const news = createChannel();
    const app = uWS
      .App()
      .get(
        '/*',
        sse({
          requestMatcher: acceptEventStream(),
          source: news.source(),
          allowedOrigins: ['https://app.example'],
          allowedHosts: ['127.0.0.1'],
          requestHeaders: [],
        }),
      )
      .any('/*', (res) => {
        res.writeStatus('404 Not Found').end();
      });
    const { url } = await serve(app);
    const port = new URL(url).port;
    const headers = {
      Accept: 'text/event-stream',
      Origin: 'https://app.example',
      Host: `127.0.0.1:${port}`,
    };
    // The stream to resume from: one event published while it was open.
    const first = await openStream(`${url}/events`, { headers });
    expect(first.status).toBe(200);
    const { id } = await news.publish('message', 'one');
    await first.waitForEvents(1);
    first.destroy();
    await news.publish('message', 'two');
    // Last-Event-ID: the replay starts after the event the client has.
    const resumed = await openStream(`${url}/events`, {
      headers: { ...headers, 'Last-Event-ID': id },
    });
    const [replayed] = await resumed.waitForEvents(1);
    expect(replayed?.data).toBe('two');
    resumed.destroy();
    // Origin and Host: checked, so another one is refused.
    const otherOrigin = await fetchRaw(`${url}/events`, {
      headers: { ...headers, Origin: 'https://evil.example' },
    });
    expect(otherOrigin.status).toBe(403);
    const otherHost = await fetchRaw(`${url}/events`, {
      headers: { ...headers, Host: 'evil.example' },
    });
    expect(otherHost.status).toBe(403);
    // Accept: acceptEventStream() sees it, so a request without it goes on to the next route.
    const noAccept = await fetchRaw(`${url}/events`, { headers: { ...headers, Accept: '*/*' } });
    expect(noAccept.status).toBe(404);
  });

  it('gives authorize the headers it declares', async () => {
    const route = sseRoute({
      authorize: (req) =>
        req.headers.get('authorization') === 'Bearer good' ? { key: 'ada' } : deny(401),
      source: () => [{ data: 'hello' }],
      requestHeaders: ['authorization'],
    });
    const { url } = await serve(uWS.App().any('/route', route));
    const refused = await fetchRaw(`${url}/route`, { headers: { Authorization: 'Bearer bad' } });
    expect(refused.status).toBe(401);
    const stream = await openStream(`${url}/route`, { headers: { Authorization: 'Bearer good' } });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('hello');
    stream.destroy();
  });

  it('reads a route body when none is declared', async () => {
    const route = sseRoute({
      body: 'json',
      source: (_req, ctx) => [{ data: JSON.stringify(ctx.body) }],
      requestHeaders: [],
    });
    const { url } = await serve(uWS.App().any('/route', route));
    const stream = await openStream(`${url}/route`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"n":1}',
    });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('{"n":1}');
    stream.destroy();
  });
});

describe('the request copy', () => {
  it('joins repeated headers like Node.js, cookies with a semicolon', async () => {
    const names = ['x-tag', 'cookie'];
    const app = uWS.App().get(
      '/events',
      sse({
        requestMatcher: uriMatch('/events'),
        chunkGenerator: wrapDelay((req) => seen(req, names), 20),
      }),
    );
    const { url } = await serve(app);
    const stream = await openStream(`${url}/events`, {
      headers: { 'X-Tag': ['a', 'b'] as never, Cookie: ['a=1', 'b=2'] as never },
    });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('x-tag=a, b|a, b cookie=a=1; b=2|a=1; b=2');
    stream.destroy();
  });

  it('gives each request its own values, equal or not to the previous one', async () => {
    const names = ['user-agent', 'host'];
    const app = uWS.App().get(
      '/events',
      sse({
        requestMatcher: uriMatch('/events'),
        chunkGenerator: wrapDelay((req) => seen(req, names), 20),
      }),
    );
    const { url } = await serve(app);
    const data: string[] = [];
    for (const agent of ['one', 'one', 'two']) {
      const stream = await openStream(`${url}/events`, {
        headers: { 'User-Agent': agent, Host: `host-${agent}` },
      });
      const [event] = await stream.waitForEvents(1);
      data.push(event?.data ?? '');
      stream.destroy();
    }
    expect(data).toEqual([
      'user-agent=one|one host=host-one|host-one',
      'user-agent=one|one host=host-one|host-one',
      'user-agent=two|two host=host-two|host-two',
    ]);
  });
});
