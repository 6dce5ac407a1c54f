import { expect, it } from 'vitest';
import { AMBIGUOUS_FRAMINGS, plainPost } from './framing-cases.js';
import type { ConformanceServer } from './harness.js';
import { fetchRaw, openStream, sleep } from './http-client.js';
import { rawConnect, statusesIn } from './raw-socket.js';

export interface FramingContext {
  /** Starts the example in this process (`buildApp()`), closed when the test ends. */
  serve(): Promise<ConformanceServer>;
  /** POSTs a body to /publish and returns the status and the parsed JSON answer. */
  postPublish(
    url: string,
    body: string,
    contentType: string,
  ): Promise<{ status: number; body: unknown }>;
}

const openEvents = async (url: string) => {
  const stream = await openStream(`${url}/events`);
  await stream.waitForText((text) => text.includes('retry:'));
  return stream;
};

const EVENTS_REQUEST =
  'GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n';

/**
 * Request smuggling and pipelining: a `POST /publish` hidden behind a request whose framing two
 * parsers can read differently, or sent on the connection of an open stream, never publishes.
 */
export function framingContractTests({ serve, postPublish }: FramingContext): void {
  for (const framing of AMBIGUOUS_FRAMINGS) {
    it(`publishes nothing hidden behind ${framing.name}, and stays up`, async () => {
      const { url } = await serve();
      const events = await openEvents(url);
      const connection = await rawConnect(url);
      connection.write(framing.bytes('POST /publish', plainPost('/publish', 'smuggled')));
      expect(await connection.closesWithin(3000)).toBe(true);
      expect(statusesIn(connection.text).filter((status) => status < 400)).toEqual([]);
      await sleep(150);
      expect(events.events).toEqual([]);
      expect((await postPublish(url, 'after', 'text/plain')).status).toBe(202);
      const [only] = await events.waitForEvents(1);
      expect(only?.data).toBe('after');
      await sleep(50);
      expect(events.events).toHaveLength(1);
      events.destroy();
    });
  }

  for (const when of ['in the same packet', 'once the stream has started'] as const) {
    it(`never runs a POST /publish pipelined behind an open GET /events (${when}); other streams carry on`, async () => {
      const { url } = await serve();
      const other = await openEvents(url);
      const connection = await rawConnect(url);
      const pipelined = plainPost('/publish', 'pipelined');
      if (when === 'in the same packet') {
        connection.write(EVENTS_REQUEST + pipelined);
      } else {
        connection.write(EVENTS_REQUEST);
        await connection.waitForText((text) => text.includes('retry: 2000'));
        connection.write(pipelined);
      }
      // The connection carrying the stream is closed: its client reconnects with Last-Event-ID.
      expect(await connection.closesWithin(3000)).toBe(true);
      expect(statusesIn(connection.text).filter((status) => status !== 200)).toEqual([]);
      await sleep(150);
      expect(other.events).toEqual([]);
      expect((await postPublish(url, 'after', 'text/plain')).status).toBe(202);
      const [only] = await other.waitForEvents(1);
      expect(only?.data).toBe('after');
      await sleep(50);
      expect(other.events).toHaveLength(1);
      expect(JSON.parse((await fetchRaw(`${url}/app/metrics`)).body).sse.events.open).toBe(1);
      other.destroy();
    });
  }
}
