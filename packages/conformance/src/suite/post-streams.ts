import {
  type Chunk,
  createChannel,
  createMemoryStore,
  createResumableStreams,
  type SseOptions,
  type SseRequest,
  type StreamContext,
  uriMatch,
} from '@sse-middleware/core';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fetchEventSourceDriver } from '../clients/lenient.js';
import { UndiciEventSource as EventSource } from '../clients/node-clients.js';
import type { ConformanceHarness, ConformanceServer, RouteFixtureOptions } from '../harness.js';
import { sleep, until } from '../http-client.js';
import { itWhen } from './capabilities.js';
import { serve, signalled } from './context.js';

interface ChatBody {
  message: string;
  stream?: boolean;
}

/** One event per word of the body's message, each word keeping the space after it. */
const wordsOf = (body: unknown): Chunk[] =>
  ((body as ChatBody).message.match(/\S+\s*/g) ?? []).map((word) => ({ data: word }));

const JSON_HEADERS = { 'content-type': 'application/json' };

async function startRoute(
  harness: ConformanceHarness,
  options: SseOptions,
  fixture?: RouteFixtureOptions,
): Promise<ConformanceServer> {
  const server = await harness.startRoute(options, fixture);
  onTestFinished(() => server.close());
  return server;
}

/** A POST with undici's fetch, its whole response read: status, content type and the events. */
async function postForEvents(
  url: string,
  body: string | ReadableStream<Uint8Array>,
  headers = JSON_HEADERS,
) {
  const response = await fetch(url, {
    method: 'POST',
    headers,
    body,
    ...(typeof body === 'string' ? {} : { duplex: 'half' }),
  } as RequestInit);
  const text = await response.text();
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(text);
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text,
    events,
  };
}

const chatOptions = (extra: SseOptions = {}): SseOptions => ({
  body: 'json',
  source: (_req: SseRequest, ctx: StreamContext) => wordsOf(ctx.body),
  endEvent: { data: '[DONE]' },
  heartbeat: 0,
  ...extra,
});

/** A body sent in chunks (`Transfer-Encoding: chunked`): no Content-Length to refuse it by. */
function chunkedBody(text: string, pieces = 4): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const size = Math.ceil(bytes.byteLength / pieces);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.subarray(offset, offset + size));
      offset += size;
    },
  });
}

export function postStreamTests(harness: ConformanceHarness): void {
  describe('POST, per request, finite', () => {
    it('a matcher naming POST streams the body it read, ending with the end event', async () => {
      const server = await serve(
        harness,
        chatOptions({ requestMatcher: uriMatch('/chat', { methods: 'POST' }) }),
      );
      const { status, type, events } = await postForEvents(
        `${server.url}/chat`,
        JSON.stringify({ message: 'Hello there, world' }),
      );
      expect(status).toBe(200);
      expect(type).toMatch(/^text\/event-stream/);
      expect(events.map((e) => e.data)).toEqual(['Hello ', 'there, ', 'world', '[DONE]']);
      // The matcher names POST only: a GET of /chat reaches the inner app.
      const get = await fetch(`${server.url}/chat`);
      expect(get.headers.get('content-type')).not.toMatch(/event-stream/);
      await get.arrayBuffer();
    });

    it('the route-level form streams every request it gets, with the same options', async () => {
      const server = await startRoute(harness, chatOptions());
      const { status, events } = await postForEvents(
        `${server.url}/route`,
        JSON.stringify({ message: 'one two' }),
      );
      expect(status).toBe(200);
      expect(events.map((e) => e.data)).toEqual(['one ', 'two', '[DONE]']);
      const missing = await fetch(`${server.url}/elsewhere`, { method: 'POST', body: '{}' });
      expect(missing.status).toBe(404);
      await missing.arrayBuffer();
    });

    itWhen(
      harness,
      'frameworkBody',
      "reads the body the framework's parser already read",
      async () => {
        const server = await startRoute(harness, chatOptions(), { frameworkBody: true });
        const { status, events } = await postForEvents(
          `${server.url}/route`,
          JSON.stringify({ message: 'parsed first' }),
        );
        expect(status).toBe(200);
        expect(events.map((e) => e.data)).toEqual(['parsed ', 'first', '[DONE]']);
      },
    );

    it('refuses a body past the limit with a 413, by Content-Length or chunked, and starts nothing', async () => {
      let started = 0;
      const server = await startRoute(
        harness,
        chatOptions({
          body: { type: 'json', maxBytes: 64 },
          source: (_req, ctx) => {
            started += 1;
            return wordsOf(ctx.body);
          },
        }),
      );
      const big = JSON.stringify({ message: 'x'.repeat(200) });
      const declared = await postForEvents(`${server.url}/route`, big);
      expect(declared.status).toBe(413);
      expect(declared.type).not.toMatch(/event-stream/);
      const chunked = await postForEvents(`${server.url}/route`, chunkedBody(big));
      expect(chunked.status).toBe(413);
      expect(started).toBe(0);
      // The server still streams the next request.
      const after = await postForEvents(`${server.url}/route`, JSON.stringify({ message: 'ok' }));
      expect(after.events.map((e) => e.data)).toEqual(['ok', '[DONE]']);
    });

    it('answers a malformed body with a 400 of its own (refuse) before any stream byte', async () => {
      const server = await startRoute(
        harness,
        chatOptions({
          body: {
            type: 'json',
            refuse: (error) => ({
              status: error.status,
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({
                error: { message: error.message, type: 'invalid_request_error' },
              }),
            }),
          },
        }),
      );
      const { status, type, text } = await postForEvents(`${server.url}/route`, '{"message": ');
      expect(status).toBe(400);
      expect(type).toMatch(/^application\/json/);
      expect(JSON.parse(text)).toEqual({
        error: { message: 'The request body is not valid JSON.', type: 'invalid_request_error' },
      });
    });

    it('answers JSON instead of a stream when a body field says so (answer)', async () => {
      const server = await startRoute(
        harness,
        chatOptions({
          answer: (_req, ctx) => {
            const body = ctx.body as ChatBody;
            if (body.stream) return undefined;
            return {
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ reply: body.message }),
            };
          },
        }),
      );
      const plain = await postForEvents(`${server.url}/route`, JSON.stringify({ message: 'a b' }));
      expect([plain.status, plain.type.split(';')[0], JSON.parse(plain.text)]).toEqual([
        200,
        'application/json',
        { reply: 'a b' },
      ]);
      const streamed = await postForEvents(
        `${server.url}/route`,
        JSON.stringify({ message: 'a b', stream: true }),
      );
      expect(streamed.events.map((e) => e.data)).toEqual(['a ', 'b', '[DONE]']);
    });

    it('streams a POST to @microsoft/fetch-event-source, headers and body included', async () => {
      const server = await startRoute(
        harness,
        chatOptions({
          source: (req, ctx) => [
            { data: req.headers.get('authorization') ?? 'none' },
            ...wordsOf(ctx.body),
          ],
        }),
      );
      const driver = fetchEventSourceDriver();
      onTestFinished(() => driver.dispose());
      const connection = await driver.open(`${server.url}/route`, undefined, {
        method: 'POST',
        headers: { ...JSON_HEADERS, authorization: 'Bearer t0ken' },
        body: JSON.stringify({ message: 'from a browser app' }),
      });
      const events = await connection.waitForEvents(6);
      expect(events.map((e) => e.data)).toEqual([
        'Bearer t0ken',
        'from ',
        'a ',
        'browser ',
        'app',
        '[DONE]',
      ]);
      await connection.close();
    });

    it('closes the source at once when the client aborts, cancelling its upstream call', async () => {
      const upstream = signalled<number>();
      const closed = signalled<number>();
      const server = await startRoute(
        harness,
        chatOptions({
          source: async function* (_req, ctx) {
            try {
              yield { data: 'first' };
              // An upstream call that honours the signal, as fetch() to a model does.
              await new Promise<void>((resolve) => {
                ctx.signal.addEventListener('abort', () => {
                  upstream.resolve(performance.now());
                  resolve();
                });
              });
              yield { data: 'never sent' };
            } finally {
              closed.resolve(performance.now());
            }
          },
        }),
      );
      const controller = new AbortController();
      const response = await fetch(`${server.url}/route`, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: '{"message":"x"}',
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('data: first');
      const abortedAt = performance.now();
      controller.abort();
      const [upstreamAt, closedAt] = await Promise.all([upstream.promise, closed.promise]);
      // Liveness, not a benchmark: the producer stops on the disconnect, not at a later write.
      expect(upstreamAt - abortedAt).toBeLessThan(2000);
      expect(closedAt).toBeGreaterThanOrEqual(upstreamAt);
    });
  });

  describe('maxStreamDuration and resumable streams', () => {
    it('maxStreamDuration ends a channel stream with a retry, and EventSource resumes without a gap', async () => {
      const channel = createChannel({ store: createMemoryStore({ limit: 100 }) });
      onTestFinished(() => channel.close());
      const server = await serve(harness, {
        requestMatcher: uriMatch('/events'),
        source: channel.source(),
        maxStreamDuration: 150,
        retry: 20,
        heartbeat: 0,
      });
      const source = new EventSource(`${server.url}/events`);
      onTestFinished(() => source.close());
      const received: string[] = [];
      let opens = 0;
      source.addEventListener('open', () => {
        opens += 1;
      });
      source.addEventListener('tick', (event) => received.push((event as MessageEvent).data));
      await until(() => opens === 1, 'the first open');
      for (let i = 1; i <= 40; i += 1) {
        await channel.publish('tick', i);
        await sleep(10);
      }
      await until(() => received.length >= 40, 'all 40 events', 8000);
      expect(opens).toBeGreaterThanOrEqual(2);
      expect(received).toEqual(Array.from({ length: 40 }, (_, i) => String(i + 1)));
    });

    it('a resumable stream outlives its client, resumes from Last-Event-ID, and ends with 204', async () => {
      const chats = createResumableStreams();
      onTestFinished(() => chats.close());
      const idOf = (req: SseRequest) => new URLSearchParams(req.query).get('id') ?? '';
      const server = await startRoute(harness, {
        heartbeat: 0,
        answer: async (req) => {
          const found = await chats.resume(
            idOf(req),
            req.headers.get('last-event-id') ?? undefined,
          );
          return found.status === 200 ? undefined : { status: found.status };
        },
        source: async function* (req, ctx) {
          const found = await chats.resume(idOf(req), ctx.lastEventId);
          if (found.source) yield* found.source(req, ctx) as AsyncIterable<Chunk>;
        },
      });
      const { done } = await chats.start('r1', async function* () {
        for (let i = 1; i <= 30; i += 1) {
          await sleep(5);
          yield { data: `w${i}` };
        }
      });
      const first = await fetch(`${server.url}/route?id=r1`);
      const reader = first.body!.getReader();
      const seen: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (event) => seen.push(event) });
      while (seen.length < 5) {
        const { value } = await reader.read();
        parser.feed(new TextDecoder().decode(value));
      }
      await reader.cancel();
      expect(await done).toBe('completed');
      const lastId = seen[seen.length - 1]!.id!;
      const rest = await fetch(`${server.url}/route?id=r1`, {
        headers: { 'last-event-id': lastId },
      });
      const restEvents: EventSourceMessage[] = [];
      createParser({ onEvent: (event) => restEvents.push(event) }).feed(await rest.text());
      const all = [...seen, ...restEvents].map((e) => e.data);
      expect(all).toEqual(Array.from({ length: 30 }, (_, i) => `w${i + 1}`));
      const finished = await fetch(`${server.url}/route?id=r1`, {
        headers: { 'last-event-id': lastId.replace(/\.\d+$/, '.30') },
      });
      expect(finished.status).toBe(204);
      const unknown = await fetch(`${server.url}/route?id=nope`);
      expect(unknown.status).toBe(404);
      await Promise.all([finished.arrayBuffer(), unknown.arrayBuffer()]);
    });
  });
}
