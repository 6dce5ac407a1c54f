import { connect } from 'node:net';
import type { SseEvent, SseOptions, StreamContext } from '@sse-middleware/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  extendedEventSourceDriver,
  fetchEventSourceDriver,
  httpxSseDriver,
  type LenientClientDriver,
} from '../clients/lenient.js';
import type { ReceivedEvent } from '../clients/types.js';
import { type ConformanceHarness, MULTIBYTE_TEXT } from '../harness.js';
import { openStream, sleep } from '../http-client.js';
import { serve } from './context.js';

const held = (ctx: StreamContext) =>
  new Promise<void>((resolve) =>
    ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
  );

/**
 * The first `count` bytes of a response body, read over a plain socket (no decoder that would drop
 * a byte order mark), de-chunked when the response is chunked.
 */
function firstBodyBytes(url: string, count: number, timeoutMs = 3000): Promise<Buffer> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${count} body bytes; received ${JSON.stringify(received.toString('latin1'))}`,
        ),
      );
    }, timeoutMs);
    const finish = (body: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(body);
    };
    const attempt = () => {
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.subarray(0, end).toString('latin1');
      let rest = received.subarray(end + 4);
      if (!/^transfer-encoding:\s*chunked/im.test(head)) {
        if (rest.length >= count) finish(rest.subarray(0, count));
        return;
      }
      let body = Buffer.alloc(0);
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd < 0) break;
        const size = Number.parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
        if (rest.length < lineEnd + 2 + size + 2) {
          body = Buffer.concat([body, rest.subarray(lineEnd + 2, lineEnd + 2 + size)]);
          break;
        }
        body = Buffer.concat([body, rest.subarray(lineEnd + 2, lineEnd + 2 + size)]);
        rest = rest.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
      if (body.length >= count) finish(body.subarray(0, count));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      attempt();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.write(
      `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`,
    );
  });
}

const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);

/** A comment line, or one of the four fields (a field line starts every event). */
const FIRST_LINE = /^(?::|(?:data|event|id|retry)[:\n])/;

/** What every application sends in these tests: named events with ids, unnamed ones, line breaks, non-ASCII. */
const APPLICATION_EVENTS: readonly SseEvent[] = [
  { id: '1', event: 'greeting', data: 'hello' },
  { data: 'two\nlines' },
  { id: '2', event: 'update', data: JSON.stringify({ n: 2, text: MULTIBYTE_TEXT }) },
  { data: MULTIBYTE_TEXT },
  { id: '3', data: 'last' },
];
const TYPES = ['message', 'greeting', 'update'];

/** What a client reports for APPLICATION_EVENTS: the spec's last event id, or the event's own id. */
function expectedEvents(driver: LenientClientDriver): ReceivedEvent[] {
  let last = '';
  return APPLICATION_EVENTS.map((event) => {
    const own = event.id === undefined ? '' : String(event.id);
    if (event.id !== undefined) last = own;
    return {
      type: event.event ?? 'message',
      data: event.data ?? '',
      lastEventId: driver.deviations.ownIdOnly ? own : last,
    };
  });
}

const HEARTBEAT_MS = 40;
const RETRY_MS = 2000;

export function lenientClientTests(harness: ConformanceHarness) {
  describe('the first bytes on the wire are a comment, a field or an event, never a byte order mark', () => {
    /** Sends nothing until the client leaves. */
    const waiting = async function* (_req: unknown, ctx: StreamContext) {
      await held(ctx);
      yield* [];
    };
    const setups: Array<[string, SseOptions]> = [
      [
        'a stream whose first event is sent at once',
        {
          source: async function* (_req, ctx) {
            yield { id: '1', data: 'first' };
            await held(ctx);
          },
        },
      ],
      ['a stream with a retry hint and no event yet', { retry: RETRY_MS, source: waiting }],
      ['a stream with heartbeats and no event yet', { heartbeat: HEARTBEAT_MS, source: waiting }],
    ];
    for (const [title, options] of setups) {
      it(title, async () => {
        const server = await serve(harness, options);
        const bytes = await firstBodyBytes(`${server.url}/?stream=true`, 6);
        expect(bytes.subarray(0, 3).equals(BYTE_ORDER_MARK), 'starts with a byte order mark').toBe(
          false,
        );
        expect(bytes.toString('latin1')).toMatch(FIRST_LINE);
      });
    }
  });

  const drivers = [fetchEventSourceDriver(), extendedEventSourceDriver(), httpxSseDriver()];
  afterAll(async () => {
    await Promise.all(drivers.map((driver) => driver.dispose()));
  });

  for (const driver of drivers) {
    describe(driver.name, () => {
      it('gets exactly the application events over a retry hint and heartbeats: no empty event, none lost, data intact', async () => {
        const server = await serve(harness, {
          retry: RETRY_MS,
          heartbeat: HEARTBEAT_MS,
          source: async function* (_req, ctx) {
            await sleep(HEARTBEAT_MS * 4); // heartbeats before the first event
            yield APPLICATION_EVENTS[0]!;
            yield APPLICATION_EVENTS[1]!;
            await sleep(HEARTBEAT_MS * 4); // between events
            yield* APPLICATION_EVENTS.slice(2);
            await held(ctx); // and after them
          },
        });
        const raw = await openStream(`${server.url}/?stream=true`);
        const client = await driver.open(`${server.url}/?stream=true`, TYPES);
        try {
          const expected = expectedEvents(driver);
          await client.waitForEvents(expected.length);
          await sleep(HEARTBEAT_MS * 4); // room for any empty event after the last one
          expect(await client.events()).toEqual(expected);
          // The wire did carry the hint and heartbeats, and a spec parser reads the same events.
          await raw.waitForEvents(expected.length);
          expect(raw.text).toContain(`retry: ${RETRY_MS}\n`);
          expect((raw.text.match(/^:\n/gm) ?? []).length).toBeGreaterThanOrEqual(3);
          expect(raw.events.map((e) => [e.event ?? 'message', e.data, e.id ?? ''])).toEqual(
            APPLICATION_EVENTS.map((e) => [e.event ?? 'message', e.data, e.id ?? '']),
          );
        } finally {
          await client.close();
          raw.destroy();
        }
      });

      it('gets a first event that comes at once with its own id, type and retry right after the hint', async () => {
        const server = await serve(harness, {
          retry: RETRY_MS,
          heartbeat: HEARTBEAT_MS,
          source: async function* (_req, ctx) {
            yield { id: 'a', event: 'greeting', retry: 1500, data: 'first' };
            yield { data: 'second' };
            await held(ctx);
          },
        });
        const client = await driver.open(`${server.url}/?stream=true`, TYPES);
        try {
          await client.waitForEvents(2);
          await sleep(HEARTBEAT_MS * 3);
          expect(await client.events()).toEqual([
            { type: 'greeting', data: 'first', lastEventId: 'a' },
            {
              type: 'message',
              data: 'second',
              lastEventId: driver.deviations.ownIdOnly ? '' : 'a',
            },
          ]);
        } finally {
          await client.close();
        }
      });

      it('dispatches an empty event for a block without data, which is why the server never frames one (known deviation)', async () => {
        expect(driver.deviations.dispatchesEmptyBlocks).toBe(true);
        const server = await serve(harness, {
          // The application's own retry-only event: the encoder writes it as the spec reads it.
          source: async function* (_req, ctx) {
            yield { retry: 1500 };
            yield { data: 'after' };
            await held(ctx);
          },
        });
        const client = await driver.open(`${server.url}/?stream=true`, TYPES);
        try {
          const events = await client.waitForEvents(2);
          expect(events.map((e) => [e.type, e.data])).toEqual([
            ['message', ''],
            ['message', 'after'],
          ]);
        } finally {
          await client.close();
        }
      });
    });
  }
}
