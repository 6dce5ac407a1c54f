import { expect, it } from 'vitest';
import { AMBIGUOUS_FRAMINGS, plainPost } from '../framing-cases.js';
import { type ConformanceHarness, innerRequestCount } from '../harness.js';
import { fetchRaw, openStream, sleep, until } from '../http-client.js';
import { rawConnect, responseComplete, statusesIn } from '../raw-socket.js';
import { itWhen } from './capabilities.js';
import { serve, tickEvery } from './context.js';

let unique = 0;
/** A path no other test asks the inner app for. */
function freshPath(what: string): string {
  unique += 1;
  return `/${what}-${process.pid}-${unique}`;
}

const STREAM_REQUEST =
  'GET /?stream=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n';

/**
 * HTTP/1.1 lets a client send its next request before the current answer is complete; behind an
 * SSE stream, that answer never completes, so a pipelined request could run but never be answered
 * (and a client retrying it would repeat it). Every adapter holds one rule: such a request is
 * never run, and the connection is closed at once (a client reconnects with Last-Event-ID).
 */
export function framingTests(harness: ConformanceHarness) {
  for (const when of ['in the same packet', 'once the stream has started'] as const) {
    itWhen(
      harness,
      'closesPipelined',
      `never runs a request pipelined behind an open stream (${when}), and closes that connection only`,
      async () => {
        const closed: string[] = [];
        const server = await serve(harness, {
          chunkGenerator: tickEvery(30),
          maxConnections: 2,
          hooks: { closed: (_req, reason) => closed.push(reason) },
        });
        const other = await openStream(`${server.url}/?stream=true`);
        await other.waitForEvents(1);
        const pipelined = freshPath('pipelined');
        const connection = await rawConnect(server.url);
        if (when === 'in the same packet') {
          connection.write(STREAM_REQUEST + plainPost(pipelined, 'publish me'));
        } else {
          connection.write(STREAM_REQUEST);
          await connection.waitForText((text) => text.includes('data: tick'));
          connection.write(plainPost(pipelined, 'publish me'));
        }
        expect(await connection.closesWithin(3000)).toBe(true);
        await sleep(100);
        expect(innerRequestCount(pipelined)).toBe(0);
        expect(connection.text).not.toContain(pipelined);
        expect(statusesIn(connection.text).filter((status) => status !== 200)).toEqual([]);
        // The slot of the dropped stream is free again, the other stream carries on, the server is up.
        await until(() => closed.length === 1, 'the dropped stream to be closed');
        const seen = other.events.length;
        await other.waitForEvents(seen + 3);
        const next = await openStream(`${server.url}/?stream=true`);
        expect(next.status).toBe(200);
        next.destroy();
        other.destroy();
        expect((await fetchRaw(`${server.url}/empty`)).status).toBe(200);
      },
    );
  }

  it('serves a request sent on the same connection after a stream has ended', async () => {
    let calls = 0;
    const server = await serve(harness, {
      errorEvent: null,
      onError: () => {},
      chunkGenerator: () => {
        calls += 1;
        if (calls === 2) throw new Error('the end');
        return { data: 'only' };
      },
    });
    const after = freshPath('after-stream');
    const connection = await rawConnect(server.url);
    connection.write(STREAM_REQUEST);
    await connection.waitForText(responseComplete);
    connection.write(`GET ${after} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    await connection.waitForText((text) => text.includes(`"path":"${after}"`));
    expect(innerRequestCount(after)).toBe(1);
    connection.destroy();
  });

  for (const framing of AMBIGUOUS_FRAMINGS) {
    const declare = framing.capability
      ? (title: string, body: () => Promise<void>) =>
          itWhen(harness, framing.capability!, title, body)
      : it;
    declare(`refuses ${framing.name} and never runs the request hidden in its body`, async () => {
      const server = await serve(harness, { chunkGenerator: tickEvery(30) });
      // A request for the inner app, and one the SSE middleware would stream.
      for (const outer of [`POST ${freshPath('outer')}`, 'GET /?stream=true']) {
        const hidden = freshPath('hidden');
        const connection = await rawConnect(server.url);
        connection.write(framing.bytes(outer, plainPost(hidden, 'smuggled')));
        expect(await connection.closesWithin(3000)).toBe(true);
        await sleep(50);
        expect(innerRequestCount(hidden)).toBe(0);
        // Node.js sees some framing errors only once the app has had the head (and may have
        // answered it): then a 400 follows. Never an answer for the hidden request.
        const [, ...after] = statusesIn(connection.text);
        expect(after.filter((status) => status !== 400)).toEqual([]);
        expect(connection.text).not.toContain(hidden);
      }
      expect((await fetchRaw(`${server.url}/empty`)).status).toBe(200);
    });
  }
}
