import { createServer, type RequestListener, type ServerResponse } from 'node:http';
import { connect as connectH2, createServer as createH2Server } from 'node:http2';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { type Channel, createChannel, type SseOptions, uriMatch } from '@sse-middleware/core';
import compression from 'compression';
import { afterEach, describe, expect, it } from 'vitest';
import { sse, sseRoute } from '../src/index.js';

/**
 * The node sink writes a chunk of a plain HTTP/1.1 chunked response straight to the socket, as
 * one pre-framed write; everything else goes through `res.write()`, which node:http turns into
 * four writes (size, CRLF, bytes, CRLF). The server's sockets record each write they are given.
 */

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const EVENTS = ['one', 'two', 'x'.repeat(1500)];

interface Started {
  port: number;
  channel: Channel;
  /** Every `socket.write()` of the server, as bytes, per connection in accept order. */
  writes: Buffer[][];
  /** The same writes, as the objects given to `socket.write()`. */
  chunks: unknown[][];
  /** The server's sockets, in accept order. */
  sockets: Set<Socket>;
  engine: ReturnType<typeof sse>['engine'];
}

const notFound: RequestListener = (_req, res) => {
  res.writeHead(404).end();
};

async function start(
  wrap: (streams: RequestListener) => RequestListener = (streams) => streams,
  options: SseOptions = {},
  channel: Channel = createChannel(),
): Promise<Started> {
  const streams = sse(notFound, {
    requestMatcher: uriMatch('/events'),
    source: channel.source(),
    heartbeat: 0,
    ...options,
  });
  const server = createServer(wrap(streams as unknown as RequestListener));
  const writes: Buffer[][] = [];
  const chunks: unknown[][] = [];
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    const seen: Buffer[] = [];
    const given: unknown[] = [];
    writes.push(seen);
    chunks.push(given);
    const write = socket.write;
    socket.write = function (this: Socket, chunk: string | Uint8Array, ...rest: unknown[]) {
      given.push(chunk);
      seen.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk));
      return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Socket['write'];
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    channel.close();
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  return { port, channel, writes, chunks, sockets, engine: streams.engine };
}

interface RawClient {
  socket: Socket;
  /** Everything received, as latin1. */
  text(): string;
  waitFor(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
}

function rawRequest(port: number, head: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
    });
    socket.on('error', () => {});
    cleanups.push(() => socket.destroy());
    const waitFor = (predicate: (text: string) => boolean, timeoutMs = 5000) =>
      new Promise<string>((ok, fail) => {
        const deadline = Date.now() + timeoutMs;
        const check = () => {
          if (predicate(text)) ok(text);
          else if (Date.now() > deadline)
            fail(new Error(`timed out; received ${text.length} bytes`));
          else setTimeout(check, 5);
        };
        check();
      });
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.write(head, 'latin1');
      resolve({ socket, text: () => text, waitFor });
    });
    socket.once('error', reject);
  });
}

const GET = 'GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n';

/** The body after the head, still chunk-framed. */
function framedBody(text: string): string {
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

/** The body with its chunk framing taken off; throws on a malformed frame. */
function dechunk(framed: string): string {
  let body = '';
  let at = 0;
  while (at < framed.length) {
    const lineEnd = framed.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error(`an unterminated chunk size at ${at}`);
    const size = Number.parseInt(framed.slice(at, lineEnd), 16);
    if (!Number.isInteger(size)) throw new Error(`a bad chunk size at ${at}`);
    const start = lineEnd + 2;
    body += framed.slice(start, start + size);
    if (framed.slice(start + size, start + size + 2) !== '\r\n')
      throw new Error(`chunk at ${at} not followed by CRLF`);
    at = start + size + 2;
  }
  return body;
}

/** The `data:` values of the event stream, in order. */
const dataLines = (body: string) =>
  body
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => line.slice(6));

/**
 * Opens a stream on each server, publishes EVENTS to their channel (the first's), and returns what
 * arrived and each server's writes.
 */
async function streamEvents(...servers: Started[]) {
  const clients = await Promise.all(servers.map((started) => rawRequest(started.port, GET)));
  for (const client of clients) await client.waitFor((text) => text.includes('\r\n\r\n'));
  for (const data of EVENTS) await servers[0]!.channel.publish('message', data);
  return Promise.all(
    clients.map(async (client, n) => {
      const text = await client.waitFor(
        (seen) => dataLines(dechunkSafe(seen)).length === EVENTS.length,
      );
      return { body: framedBody(text), writes: servers[n]!.writes[0]! };
    }),
  );
}

function dechunkSafe(text: string): string {
  const framed = framedBody(text);
  const complete = framed.slice(0, framed.lastIndexOf('\r\n') + 2);
  try {
    return dechunk(complete);
  } catch {
    return '';
  }
}

/** Each chunk of the framed body, frame included, as bytes. */
function frames(framed: string): Buffer[] {
  const found: Buffer[] = [];
  let at = 0;
  while (at < framed.length) {
    const lineEnd = framed.indexOf('\r\n', at);
    const size = Number.parseInt(framed.slice(at, lineEnd), 16);
    const end = lineEnd + 2 + size + 2;
    found.push(Buffer.from(framed.slice(at, end), 'latin1'));
    at = end;
  }
  return found;
}

const wroteWhole = (writes: Buffer[], frame: Buffer) => writes.some((write) => write.equals(frame));

describe('node sink on a plain HTTP/1.1 response', () => {
  it('writes each chunk to the socket once, framed whole, with the body res.write() sends', async () => {
    const channel = createChannel();
    const plain = await start(undefined, {}, channel);
    const wrapped = await start(
      (streams) => (req, res) => {
        const write = res.write;
        // A wrapper of res.write() that changes nothing but is there.
        res.write = function (this: ServerResponse, ...args: unknown[]) {
          return (write as (...a: unknown[]) => boolean).apply(this, args);
        } as ServerResponse['write'];
        streams(req, res);
      },
      {},
      channel,
    );
    const [direct, fallback] = await streamEvents(plain, wrapped);
    if (!direct || !fallback) throw new Error('two streams expected');
    expect(dataLines(dechunk(direct.body))).toEqual(EVENTS);
    // Node 24+ merges the chunks res.write() is given in one tick into one chunk: the same body.
    expect(dechunk(direct.body)).toBe(dechunk(fallback.body));
    const sent = frames(direct.body);
    expect(sent).toHaveLength(EVENTS.length);
    for (const frame of sent) {
      expect(wroteWhole(direct.writes, frame)).toBe(true);
      expect(wroteWhole(fallback.writes, frame)).toBe(false);
    }
  });

  it('frames a broadcast once: every stream is written the same Buffer', async () => {
    const started = await start();
    const clients = await Promise.all([
      rawRequest(started.port, GET),
      rawRequest(started.port, GET),
    ]);
    for (const client of clients) await client.waitFor((text) => text.includes('\r\n\r\n'));
    const before = started.chunks.map((given) => given.length);
    await started.channel.publish('message', 'shared');
    for (const client of clients) await client.waitFor((text) => text.includes('data: shared'));
    const written = started.chunks.map((given, n) => given.slice(before[n]));
    expect(written.map((given) => given.length)).toEqual([1, 1]);
    expect(written[0]![0]).toBe(written[1]![0]);
  });

  /**
   * A stream whose head has arrived, and each write its server socket makes from then on: 1 for a
   * single chunk, n for a writev of n chunks.
   */
  async function streamRecordingFlushes() {
    const started = await start();
    const client = await rawRequest(started.port, GET);
    await client.waitFor((text) => text.includes('\r\n\r\n'));
    const socket = [...started.sockets][0]!;
    const flushes: number[] = [];
    const writev = socket._writev!;
    socket._writev = function (this: Socket, chunks, callback) {
      flushes.push(chunks.length);
      return writev.call(this, chunks, callback);
    };
    const write = socket._write;
    socket._write = function (this: Socket, chunk, encoding, callback) {
      flushes.push(1);
      return write.call(this, chunk, encoding, callback);
    };
    return { started, client, socket, flushes };
  }

  it('sends the first event of a turn at once, and the rest of that turn in one writev', async () => {
    const { started, client, socket, flushes } = await streamRecordingFlushes();
    const burst = Array.from({ length: 20 }, (_, n) => `burst ${n}`);
    for (const data of burst) void started.channel.publish('message', data);
    await client.waitFor((text) => dataLines(dechunkSafe(text)).length === burst.length);
    expect(dataLines(dechunk(framedBody(client.text())))).toEqual(burst);
    expect(flushes).toEqual([1, burst.length - 1]);
    expect(socket.writableCorked).toBe(0);
  });

  it('writes an event published on its own turn at once, without corking the socket', async () => {
    const { started, client, socket, flushes } = await streamRecordingFlushes();
    const corked: number[] = [];
    const write = socket.write;
    socket.write = function (this: Socket, ...args: unknown[]) {
      corked.push(this.writableCorked);
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as Socket['write'];
    for (const data of ['a', 'b', 'c']) {
      await started.channel.publish('message', data);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await client.waitFor((text) => dataLines(dechunkSafe(text)).length === 3);
    expect(dataLines(dechunk(framedBody(client.text())))).toEqual(['a', 'b', 'c']);
    expect(flushes).toEqual([1, 1, 1]);
    expect(corked).toEqual([0, 0, 0]);
  });

  /** A stream that has received its first event, and the server's response to it. */
  async function streamAfterFirstEvent() {
    const responses: ServerResponse[] = [];
    const started = await start((streams) => (req, res) => {
      responses.push(res);
      streams(req, res);
    });
    const client = await rawRequest(started.port, GET);
    await client.waitFor((text) => text.includes('\r\n\r\n'));
    await started.channel.publish('message', 'first');
    await client.waitFor((text) => text.includes('data: first'));
    return { started, client, res: responses[0]!, writes: started.writes[0]! };
  }

  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it('goes through res.write() once a wrapper replaces it mid-stream', async () => {
    const { started, client, res, writes } = await streamAfterFirstEvent();
    const seen: string[] = [];
    const write = res.write;
    res.write = function (this: ServerResponse, chunk: Uint8Array, ...rest: unknown[]) {
      seen.push(Buffer.from(chunk).toString());
      return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    } as ServerResponse['write'];
    await started.channel.publish('message', 'second');
    const text = await client.waitFor((seen) => dataLines(dechunkSafe(seen)).length === 2);
    expect(dataLines(dechunk(framedBody(text)))).toEqual(['first', 'second']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^id: .*\ndata: second\n\n$/);
    expect(wroteWhole(writes, frames(framedBody(text))[1]!)).toBe(false);
  });

  it('keeps the order of an event written while the app holds the response corked', async () => {
    const { started, client, res, writes } = await streamAfterFirstEvent();
    res.cork();
    res.write('data: by the app\n\n');
    await started.channel.publish('message', 'second');
    res.uncork();
    const text = await client.waitFor((seen) => dataLines(dechunkSafe(seen)).length === 3);
    const body = dechunk(framedBody(text));
    expect(dataLines(body)).toEqual(['first', 'by the app', 'second']);
    // Node 24+ merges what res.write() was given in one tick into one chunk: look for the event.
    const event = `${body.split('\n\n').find((e) => e.includes('data: second'))}\n\n`;
    const direct = Buffer.from(`${Buffer.byteLength(event).toString(16)}\r\n${event}\r\n`);
    expect(wroteWhole(writes, direct)).toBe(false);
  });

  it('writes nothing after the response was ended by someone else mid-stream', async () => {
    const { started, client, res, writes } = await streamAfterFirstEvent();
    const errors: unknown[] = [];
    res.on('error', (error) => errors.push(error));
    res.end();
    const ended = writes.length;
    await started.channel.publish('message', 'after the end');
    await nextTurn();
    await client.waitFor((text) => text.endsWith('\r\n0\r\n\r\n'));
    await nextTurn();
    expect(client.text()).not.toContain('after the end');
    expect(writes.slice(ended).map(String).join('')).not.toContain('after the end');
    expect(started.engine.stats().open).toBe(0);
    expect(errors).toEqual([]);
  });

  it.each([
    ['drop-oldest', 'keeps streaming once the client reads again, frames intact and in order'],
    ['disconnect', 'ends the stream of a client that stopped reading'],
  ] as const)('backpressure through the socket, %s: %s', async (policy, _outcome) => {
    const started = await start(undefined, {
      slowConsumer: { policy, maxQueuedBytes: 256 * 1024 },
    });
    const client = await rawRequest(started.port, GET);
    await client.waitFor((text) => text.includes('\r\n\r\n'));
    client.socket.pause();
    const filler = 'f'.repeat(32 * 1024);
    const stats = () => started.engine.stats();
    let published = 0;
    while (stats().droppedChunks === 0 && stats().slowConsumerDisconnects === 0) {
      if (published === 2000) throw new Error('the stream never backpressured');
      published += 1;
      await started.channel.publish('message', `${published} ${filler}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const first = frames(framedBody(Buffer.concat(started.writes[0]!).toString('latin1')))[0]!;
    expect(wroteWhole(started.writes[0]!, first)).toBe(true);
    client.socket.resume();
    if (policy === 'disconnect') {
      // The response ends; node:http keeps the connection for the next request.
      await client.waitFor((text) => text.endsWith('\r\n0\r\n\r\n'), 15_000);
      expect(stats().slowConsumerDisconnects).toBe(1);
      expect(stats().open).toBe(0);
      return;
    }
    await started.channel.publish('message', 'last');
    const text = await client.waitFor((seen) => seen.endsWith('data: last\n\n\r\n'), 15_000);
    const numbers = dataLines(dechunk(framedBody(text)))
      .slice(0, -1)
      .map((line) => Number(line.split(' ')[0]));
    expect(numbers[0]).toBe(1);
    expect(numbers.length).toBeLessThan(published);
    for (let n = 1; n < numbers.length; n += 1) expect(numbers[n]).toBeGreaterThan(numbers[n - 1]!);
    expect(stats().open).toBe(1);
  });
});

describe('node sink through res.write()', () => {
  it('behind compression middleware (no-transform: passed through, still framed by node)', async () => {
    const compress = compression();
    const [compressed] = await streamEvents(
      await start((streams) => (req, res) => {
        compress(req as never, res as never, () => streams(req, res));
      }),
    );
    if (!compressed) throw new Error('one stream expected');
    const { body, writes } = compressed;
    expect(dataLines(dechunk(body))).toEqual(EVENTS);
    for (const frame of frames(body)) expect(wroteWhole(writes, frame)).toBe(false);
  });

  it('gzipped behind compression middleware, every event flushed', async () => {
    const compress = compression();
    const started = await start(
      (streams) => (req, res) => {
        compress(req as never, res as never, () => streams(req, res));
      },
      { headers: { 'Cache-Control': 'no-cache' } },
    );
    const { gunzipSync } = await import('node:zlib');
    const client = await rawRequest(
      started.port,
      'GET /events HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\n\r\n',
    );
    await client.waitFor((text) => text.includes('\r\n\r\n'));
    expect(client.text()).toMatch(/content-encoding: gzip/i);
    for (const data of EVENTS) await started.channel.publish('message', data);
    const unzipped = () => {
      try {
        const framed = framedBody(client.text());
        const complete = framed.slice(0, framed.lastIndexOf('\r\n') + 2);
        return gunzipSync(Buffer.from(dechunk(complete), 'latin1'), {
          finishFlush: 2, // Z_SYNC_FLUSH: the stream is not over
        }).toString('utf8');
      } catch {
        return '';
      }
    };
    await client.waitFor(() => dataLines(unzipped()).length === EVENTS.length);
    expect(dataLines(unzipped())).toEqual(EVENTS);
  });

  it('for HEAD: node:http sends no body, and neither does the sink', async () => {
    const channel = createChannel();
    const route = sseRoute({ source: channel.source(), heartbeat: 0 });
    const server = createServer(route as unknown as RequestListener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      channel.close();
      server.closeAllConnections();
      server.close();
    });
    const { port } = server.address() as AddressInfo;
    const client = await rawRequest(port, 'HEAD /events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const text = await client.waitFor((seen) => seen.includes('\r\n\r\n'));
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(route.engine.connections.active).toBe(1);
    for (const data of EVENTS) await channel.publish('message', data);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client.text()).toBe(text);
    expect(client.text().endsWith('\r\n\r\n')).toBe(true);
  });

  it('on HTTP/2 (compat API): every event arrives through the stream', async () => {
    const channel = createChannel();
    const streams = sse(notFound as never, {
      requestMatcher: uriMatch('/events'),
      source: channel.source(),
      heartbeat: 0,
    });
    const server = createH2Server(streams as never);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = connectH2(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    cleanups.push(() => {
      channel.close();
      session.destroy();
      server.close();
    });
    const stream = session.request({ ':path': '/events' });
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      text += chunk;
    });
    await new Promise((resolve) => stream.once('response', resolve));
    while (streams.engine.connections.active < 1) await new Promise((r) => setTimeout(r, 5));
    for (const data of EVENTS) await channel.publish('message', data);
    const deadline = Date.now() + 5000;
    while (dataLines(text).length < EVENTS.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(dataLines(text)).toEqual(EVENTS);
    expect(session.destroyed).toBe(false);
  });
});
