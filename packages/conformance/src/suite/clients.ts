import {
  type Chunk,
  queryTokenMatch,
  type RequestMatcher,
  type StreamContext,
  wrapDelay,
} from '@sse-middleware/core';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumDriver } from '../clients/chromium.js';
import { eventsourceV4Driver, undiciDriver } from '../clients/node-clients.js';
import type { ClientDriver } from '../clients/types.js';
import { expectedCorpusEvents, TRICKY_CORPUS } from '../corpus.js';
import type { ConformanceHarness, EchoBody } from '../harness.js';
import { openStream, sleep } from '../http-client.js';
import { serve } from './context.js';

/** Streams the corpus, then holds the stream open (so the client does not reconnect and repeat it). */
async function* corpus(ctx: StreamContext): AsyncGenerator<Chunk> {
  for (const entry of TRICKY_CORPUS) yield entry.sent;
  await new Promise<void>((resolve) =>
    ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/** A matcher that counts the stream requests it sees for `path`. */
function countingMatcher(path: string, inner: RequestMatcher = (req) => req) {
  const seen: Array<string | null> = [];
  const matcher: RequestMatcher = (req) => {
    if (req.method !== 'GET' || req.path !== path) return undefined;
    seen.push(req.headers.get('last-event-id'));
    return inner(req);
  };
  return { matcher, seen };
}

export function clientTests(harness: ConformanceHarness) {
  const drivers: ClientDriver[] = [undiciDriver(), eventsourceV4Driver(), chromiumDriver()];
  afterAll(async () => {
    await Promise.all(drivers.map((driver) => driver.dispose()));
  });

  it('a raw HTTP reader parses the tricky corpus exactly as sent', async () => {
    const server = await serve(harness, { source: (_req, ctx) => corpus(ctx) });
    const stream = await openStream(`${server.url}/?stream=true`);
    const expected = expectedCorpusEvents({});
    const events = await stream.waitForEvents(expected.length);
    expect(events.map((e) => ({ type: e.event ?? 'message', data: e.data, id: e.id }))).toEqual(
      TRICKY_CORPUS.filter((entry) => entry.type !== '').map((entry) => ({
        type: entry.type,
        data: entry.data,
        id: entry.id,
      })),
    );
    stream.destroy();
  });

  for (const driver of drivers) {
    describe(driver.name, () => {
      it("reads the default pipeline's events", async () => {
        const server = await serve(harness, {});
        const client = await driver.open(`${server.url}/app/metrics?stream=true`);
        try {
          const [event] = await client.waitForEvents(1);
          expect(JSON.parse(event!.data) as EchoBody).toMatchObject({
            path: '/app/metrics',
            query: 'stream=true',
          });
        } finally {
          await client.close();
        }
      });

      it('receives the tricky corpus exactly as sent (line breaks, empty data, NUL, astral characters, 64 KiB, ids, retry)', async () => {
        const server = await serve(harness, { source: (_req, ctx) => corpus(ctx) });
        const client = await driver.open(`${server.url}/?stream=true`, ['message', 'custom']);
        try {
          const expected = expectedCorpusEvents(driver.deviations);
          expect(await client.waitForEvents(expected.length)).toEqual(expected);
        } finally {
          await client.close();
        }
      });

      it('ignores an id containing NUL, keeping the previous one (sent as a raw pre-formatted chunk)', async () => {
        const server = await serve(harness, {
          source: async function* (_req, ctx) {
            yield 'id: 1\ndata: one\n';
            yield 'id: a\0b\ndata: two\n';
            await new Promise<void>((resolve) =>
              ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
            );
          },
        });
        const client = await driver.open(`${server.url}/?stream=true`);
        try {
          const events = await client.waitForEvents(2);
          expect(events.map((e) => e.lastEventId)).toEqual([
            '1',
            driver.deviations.nulInIdResetsId ? '' : '1',
          ]);
        } finally {
          await client.close();
        }
      });

      it('sends Last-Event-ID on reconnect, and the server sees it', async () => {
        const { matcher, seen } = countingMatcher('/resume', queryTokenMatch('stream'));
        const server = await serve(harness, {
          requestMatcher: (req) => matcher({ ...req, query: 'stream' }),
          source: async function* (_req, ctx) {
            if (ctx.lastEventId === undefined) {
              yield { retry: 100 };
              yield { id: '5', data: 'first' };
              return; // the response ends; the client reconnects after 100 ms
            }
            yield { data: `resumed after ${ctx.lastEventId}` };
            await new Promise<void>((resolve) =>
              ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
            );
          },
        });
        const client = await driver.open(`${server.url}/resume`);
        try {
          const events = await client.waitForEvents(2);
          expect(events.map((e) => e.data)).toEqual(['first', 'resumed after 5']);
          expect(events[1]?.lastEventId).toBe(
            driver.deviations.lastEventIdResetsWithoutId ? '' : '5',
          );
          expect(seen).toEqual([null, '5']);
        } finally {
          await client.close();
        }
      });

      it('stops reconnecting when the server answers 204', async () => {
        // The stream ends with id "last"; the reconnect carries it, the matcher declines, and the app answers 204.
        const { matcher, seen } = countingMatcher('/status/204', (req) =>
          req.headers.get('last-event-id') === 'last' ? undefined : req,
        );
        const server = await serve(harness, {
          requestMatcher: matcher,
          source: () => [{ retry: 50 }, { id: 'last', data: 'bye' }],
        });
        const client = await driver.open(`${server.url}/status/204`);
        try {
          await client.waitForEvents(1);
          await sleep(800);
          expect(seen).toEqual([null, 'last']);
          expect(await client.readyState()).toBe(2);
        } finally {
          await client.close();
        }
      });

      it('closes on the 503 at the connection limit, without a retry storm', async () => {
        const { matcher, seen } = countingMatcher('/limited');
        const server = await serve(harness, {
          maxConnections: 1,
          requestMatcher: matcher,
          chunkGenerator: wrapDelay(() => ({ retry: 50, data: 'held' }), 100),
        });
        const holder = await openStream(`${server.url}/limited`);
        await holder.waitForEvents(1);
        const client = await driver.open(`${server.url}/limited`);
        try {
          await sleep(800);
          expect(await client.readyState()).toBe(2);
          expect(await client.events()).toEqual([]);
          expect(seen).toHaveLength(2);
        } finally {
          await client.close();
          holder.destroy();
        }
      });
    });
  }
}
