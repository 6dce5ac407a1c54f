import uWS from 'uWebSockets.js';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  CORS_ORIGIN,
  type ConformanceServer,
  fetchRaw,
  openStream,
  sleep,
  until,
} from '@sse-middleware/conformance';
import {
  type Chunk,
  createChannel,
  type StreamContext,
  uriMatch,
  wrapDelay,
} from '@sse-middleware/core';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import {
  assertNativeUws,
  isNativeUws,
  sse,
  type UwsHttpRequest,
  type UwsHttpResponse,
  type UwsRequestCopy,
  type UwsSseHandler,
} from '../src/index.js';
import { innerRoute, listen } from './fixture.js';

async function serve(app: uWS.TemplatedApp): Promise<ConformanceServer> {
  const server = await listen(app);
  onTestFinished(() => server.close());
  return server;
}

const ticks = wrapDelay((): Chunk => ({ data: 'tick' }), 20);

/** The response body's bytes as they arrive, before any decoding. */
function rawBody(url: string, until: (body: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = Buffer.alloc(0);
      res.on('data', (chunk: Buffer) => {
        body = Buffer.concat([body, chunk]);
        if (until(body)) {
          res.destroy();
          resolve(body);
        }
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * A paused client's stream from `streams`, behind a wrapper that can end the response itself, the
 * way an app's own timeout would (uWS tells the handler nothing of it).
 */
async function pausedStreamEndedByApp(streams: UwsSseHandler) {
  let endResponse: (() => void) | undefined;
  const { url } = await serve(
    uWS.App().get('/*', (res, req) => {
      endResponse = () => res.cork(() => res.end());
      streams(res, req);
    }),
  );
  const stream = await openStream(`${url}/?stream=true`);
  stream.pause();
  return { stream, endResponse: () => endResponse!() };
}

describe('sse()', () => {
  it('throws a TypeError naming the argument and the value it received', () => {
    const handler = () => ({ status: 200, body: 'x' });
    expect(() => sse(5 as never)).toThrow(
      new TypeError('options must be an object, received 5 (number)'),
    );
    expect(() => sse({ handler: 'metrics' as never })).toThrow(
      new TypeError('options.handler must be a function, received "metrics" (string)'),
    );
    expect(() => sse({ handler, chunkGenerator: ticks })).toThrow(
      /^options\.handler must be absent when options\.chunkGenerator is given/,
    );
    expect(() => sse({ handler, source: () => [] })).toThrow(
      /^options\.handler must be absent when options\.source is given/,
    );
    expect(() => sse({ handler, maxConnections: 'ten' as never })).toThrow(
      new TypeError('options.maxConnections must be an integer, received "ten" (string)'),
    );
    expect(() => sse({ handler, colour: 'red' } as never)).toThrow(
      /^options\.colour must be one of/,
    );
  });

  it('says what to pass when it has nothing to stream', () => {
    for (const options of [{}, { handler: undefined }, { chunkGenerator: null as never }]) {
      expect(() => sse(options)).toThrow(
        new TypeError(
          'sse(options) needs something to stream: options.handler (the app logic to poll once a second, (req) => ({ status, body }) or a string), options.chunkGenerator or options.source',
        ),
      );
    }
  });

  it("is a uWS route handler for the package's own typings, and exposes its engine", () => {
    const handler = sse({ chunkGenerator: ticks, maxConnections: 3 });
    expectTypeOf(handler).toExtend<Parameters<uWS.TemplatedApp['get']>[1]>();
    expectTypeOf<uWS.HttpResponse>().toExtend<UwsHttpResponse>();
    expectTypeOf<uWS.HttpRequest>().toExtend<UwsHttpRequest>();
    expectTypeOf(handler).toEqualTypeOf<UwsSseHandler>();
    expect(handler.engine.connections.max).toBe(3);
    expect(handler.engine.connections.active).toBe(0);
  });
});

describe('the native addon check', () => {
  it('accepts the native addon, imported either way', async () => {
    expect(isNativeUws(uWS)).toBe(true);
    expect(() => assertNativeUws(uWS)).not.toThrow();
    const namespace = await import('uWebSockets.js');
    expect(isNativeUws(namespace)).toBe(true);
  });

  it('throws a TypeError for anything but the uWebSockets.js module', () => {
    expect(() => assertNativeUws({})).toThrow(
      new TypeError(
        "assertNativeUws(uws) must be given the uWebSockets.js module (import uWS from 'uWebSockets.js'), received an object without App()",
      ),
    );
    expect(() => assertNativeUws(undefined as never)).toThrow(/received undefined$/);
  });

  it('refuses the JavaScript fallback, at startup and on the first request', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./fallback-process.ts', import.meta.url))],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { ...process.env, UWS_USE_FALLBACK: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    const findings = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as {
      native: boolean;
      forced: string;
      missingBinary: string;
    };
    expect(findings.native).toBe(false);
    expect(findings.forced).toMatch(/^uWebSockets\.js is running as a JavaScript imitation/);
    expect(findings.forced).toContain('UWS_USE_FALLBACK=1 forces it: unset it.');
    const { platform, arch, version, versions } = process;
    expect(findings.missingBinary).toContain(
      `has no uws_${platform}_${arch}_${versions.modules}.node for Node.js ${version} (ABI ${versions.modules})`,
    );
    expect(findings.missingBinary).toContain('npm install uNetworking/uWebSockets.js#v20.');
    // The handler refuses to serve: the first request throws the same error out of the route.
    expect(code).not.toBe(0);
    expect(stderr).toContain('@sse-middleware/uws refuses it');
  }, 20_000);
});

describe('sse() in a uWS app', () => {
  it('sends CORS headers given through the headers option, the way uWS apps do CORS', async () => {
    const cors = { 'Access-Control-Allow-Origin': CORS_ORIGIN, Vary: 'Origin' };
    const app = uWS
      .App()
      .get('/*', sse({ chunkGenerator: ticks, headers: cors }))
      .any('/*', innerRoute);
    const { url } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`, { headers: { Origin: CORS_ORIGIN } });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(CORS_ORIGIN);
    expect(stream.headers.vary).toBe('Origin');
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    await stream.waitForEvents(1);
    stream.destroy();
  });

  it('yields what it does not stream to the next route for the same URL', async () => {
    const scores = sse({
      requestMatcher: uriMatch('/score'),
      chunkGenerator: wrapDelay(() => ({ data: '180,4' }), 20),
    });
    // uWS routes a static pattern before `/*`, whatever the order they are registered in.
    const app = uWS
      .App()
      .any('/*', innerRoute)
      .get('/score', scores)
      .any('/score', (res) => {
        res.writeStatus('405 Method Not Allowed').end('GET only');
      });
    const { url } = await serve(app);
    const stream = await openStream(`${url}/score`);
    expect(stream.headers['content-type']).toBe('text/event-stream;charset=UTF-8');
    await stream.waitForEvents(1);
    stream.destroy();
    const post = await fetchRaw(`${url}/score`, { method: 'POST' });
    expect([post.status, post.body]).toEqual([405, 'GET only']);
    expect(JSON.parse((await fetchRaw(`${url}/other?stream=true`)).body)).toMatchObject({
      path: '/other',
    });
  });

  it('opens an event stream with a comment line (no byte order mark, no blank line), which puts the head on the wire at once', async () => {
    const app = uWS
      .App()
      .get('/*', sse({ chunkGenerator: wrapDelay(() => ({ data: 'late' }), { initial: 5000 }) }));
    const { url } = await serve(app);
    const body = await rawBody(`${url}/?stream=true`, (b) => b.length >= 2);
    expect(new TextDecoder().decode(body)).toBe(':\n');
  });

  it('sends no head comment for another content type: its head leaves with the first chunk', async () => {
    const app = uWS.App().get(
      '/*',
      sse({
        source: () => ['{"n":1}'],
        emptyResponse: { headers: { 'Content-Type': 'application/x-ndjson' } },
      }),
    );
    const { url } = await serve(app);
    const res = await fetchRaw(`${url}/?stream=true`);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(res.body).toBe('{"n":1}\n');
  });

  it('copies the request before the route returns: headers reach a later chunk via req.raw', async () => {
    const app = uWS.App().get(
      '/*',
      sse({
        chunkGenerator: wrapDelay((req) => {
          const { headers } = req.raw as UwsRequestCopy;
          return { data: `${req.headers.get('X-Trace')} ${headers['x-tag']} ${headers.cookie}` };
        }, 50),
      }),
    );
    const { url } = await serve(app);
    const stream = await openStream(`${url}/?stream=true`, {
      headers: { 'X-Trace': 't-1', 'X-Tag': 'a, b', Cookie: 'a=1; b=2' },
    });
    const [event] = await stream.waitForEvents(1);
    expect(event?.data).toBe('t-1 a, b a=1; b=2');
    stream.destroy();
  });

  it('polls options.handler, which may answer with a string or a promise', async () => {
    const app = uWS.App().get(
      '/*',
      sse({
        handler: async (req) => (req.path === '/text' ? 'plain text' : { status: 200, body: '{}' }),
      }),
    );
    const { url } = await serve(app);
    const text = await openStream(`${url}/text?stream=true`);
    const json = await openStream(`${url}/json?stream=true`);
    expect((await text.waitForEvents(1))[0]?.data).toBe('plain text');
    expect((await json.waitForEvents(1))[0]?.data).toBe('{}');
    text.destroy();
    json.destroy();
  });

  it('frees the slot of a backpressured stream whose response the app ended meanwhile', async () => {
    const errors: unknown[] = [];
    const burst = { data: 'z'.repeat(64 * 1024) };
    async function* burstThenTicks(ctx: StreamContext): AsyncGenerator<Chunk> {
      for (let i = 0; i < 128; i += 1) yield burst;
      while (!ctx.signal.aborted) yield { data: 'tick' };
    }
    const streams = sse({
      source: (_req, ctx) => burstThenTicks(ctx),
      onError: (error) => errors.push(error),
    });
    const { stream, endResponse } = await pausedStreamEndedByApp(streams);
    await sleep(500);
    expect(streams.engine.stats().open).toBe(1);
    // A wrapper's timeout: uWS tells the handler nothing, and the write waiting for a drain
    // would wait until the server shut down.
    endResponse();
    stream.resume();
    await stream.ended;
    await until(() => streams.engine.stats().open === 0, 'the stream to free its slot');
    expect(errors).toEqual([]);
  });

  it('disconnects quietly a slow stream whose response the app ended, before any check runs', async () => {
    const errors: unknown[] = [];
    const channel = createChannel();
    const streams = sse({
      source: channel.source(),
      slowConsumer: { policy: 'disconnect', maxQueuedBytes: 16 * 1024 * 1024 },
      onError: (error) => errors.push(error),
    });
    const { stream, endResponse } = await pausedStreamEndedByApp(streams);
    const filler = 'f'.repeat(64 * 1024);
    // 10 MiB, more than the socket buffers take and less than maxQueuedBytes: the stream's writes
    // now wait for a drain.
    for (let i = 0; i < 160; i += 1) await channel.publish('message', filler);
    await sleep(100);
    expect(streams.engine.stats().open).toBe(1);
    endResponse();
    // Past maxQueuedBytes at once: the engine disconnects the stream, closing an ended response.
    for (let i = 0; i < 260; i += 1) await channel.publish('message', filler);
    await until(() => streams.engine.stats().open === 0, 'the slow stream to be disconnected', 500);
    expect(streams.engine.stats().slowConsumerDisconnects).toBe(1);
    expect(errors).toEqual([]);
    stream.destroy();
  });

  it('keeps a stream that caught up after backpressure open past uWS write timeout', async () => {
    // More than the kernel's socket buffers hold, so that writes block.
    const BURST = 128;
    const burst = { data: 'z'.repeat(64 * 1024) };
    async function* burstThenTicks(ctx: StreamContext): AsyncGenerator<Chunk> {
      for (let i = 0; i < BURST; i += 1) yield burst;
      for (let n = 1; !ctx.signal.aborted; n += 1) {
        yield { data: `tick ${n}` };
        await sleep(250);
      }
    }
    const streams = sse({ source: (_req, ctx) => burstThenTicks(ctx) });
    const { url } = await serve(uWS.App().get('/*', streams));
    const stalled = await openStream(`${url}/?stream=true`);
    const recovering = await openStream(`${url}/?stream=true`);
    stalled.pause();
    recovering.pause();
    await sleep(1000);
    recovering.resume();
    await recovering.waitForEvents(BURST + 1, 10_000);
    const caughtUp = Date.now();

    // uWS times out a response whose writes stay blocked for 10 s (checked every 4 s). Had the
    // handler left uWS to drain on its own, uWS would arm that timeout on the stream that caught
    // up too, and cut it within 14 s although it keeps writing. (When uWS drops the stalled one
    // depends on its own timer and the machine's load, so it is not asserted here.)
    await sleep(Math.max(0, caughtUp + 15_000 - Date.now()));
    const ticksBefore = recovering.events.length;
    await sleep(1000);
    expect(recovering.isEnded).toBe(false);
    expect(recovering.events.length).toBeGreaterThan(ticksBefore);
    stalled.destroy();
    recovering.destroy();
  }, 40_000);
});
