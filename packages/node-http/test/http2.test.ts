import {
  type ClientHttp2Session,
  connect,
  createServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { wrapDelay } from '@sse-middleware/core';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { type NodeListener, sseMiddleware } from '../src/index.js';
import { innerApp } from './fixture.js';

/** The suite's inner app, unchanged, as an HTTP/2 compat listener. */
const innerH2 = innerApp as unknown as NodeListener<Http2ServerRequest, Http2ServerResponse>;

const CONNECTION_SPECIFIC = [
  'connection',
  'transfer-encoding',
  'keep-alive',
  'proxy-connection',
  'upgrade',
];

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function startH2(listener: (req: Http2ServerRequest, res: Http2ServerResponse) => void) {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session: ClientHttp2Session = connect(
    `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  );
  cleanups.push(() => {
    session.destroy();
    server.close();
  });
  return session;
}

function request(session: ClientHttp2Session, path: string) {
  const stream = session.request({ ':path': path });
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => parser.feed(chunk));
  const headers = new Promise<IncomingHttpHeaders>((resolve) => stream.once('response', resolve));
  const waitForEvents = async (count: number) => {
    const deadline = Date.now() + 5000;
    while (events.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out with ${events.length}/${count} events`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return events;
  };
  return { stream, headers, waitForEvents };
}

describe('node:http2 (compat API)', () => {
  it('streams events with no connection-specific headers and no warnings', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));
    const session = await startH2(
      sseMiddleware(innerH2, { chunkGenerator: wrapDelay(() => ({ data: 'over h2' }), 20) }),
    );
    const { stream, headers, waitForEvents } = request(session, '/?stream=true');
    const head = await headers;
    expect(head[':status']).toBe(200);
    expect(head['content-type']).toBe('text/event-stream;charset=UTF-8');
    for (const name of CONNECTION_SPECIFIC) expect(head[name], name).toBeUndefined();
    expect((await waitForEvents(3)).map((e) => e.data)).toEqual(['over h2', 'over h2', 'over h2']);
    stream.close();
    expect(warnings.map(String)).toEqual([]);
  });

  it('runs the default chunk generator against the inner listener', async () => {
    const session = await startH2(sseMiddleware(innerH2));
    const { stream, waitForEvents } = request(session, '/app/metrics?stream=true');
    const [event] = await waitForEvents(1);
    expect(JSON.parse(event!.data)).toMatchObject({
      method: 'GET',
      path: '/app/metrics',
      query: 'stream=true',
    });
    stream.close();
  });

  it('frees the slot when the client cancels its stream, keeping the session', async () => {
    const listener = sseMiddleware(innerH2, {
      maxConnections: 1,
      chunkGenerator: wrapDelay(() => ({ data: 'x' }), 20),
    });
    const session = await startH2(listener);
    const first = request(session, '/?stream=true');
    await first.waitForEvents(1);
    const refused = request(session, '/?stream=true');
    expect((await refused.headers)[':status']).toBe(503);
    first.stream.close();
    const deadline = Date.now() + 5000;
    while (listener.engine.connections.active > 0) {
      if (Date.now() > deadline) throw new Error('the cancelled stream kept its slot');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const second = request(session, '/?stream=true');
    expect((await second.headers)[':status']).toBe(200);
    await second.waitForEvents(1);
    second.stream.close();
  });
});
