import { describe, expect, it } from 'vitest';
import { createRequestView, createSseEngine } from '../src/adapter.js';
import {
  acceptEventStream,
  type Chunk,
  createMemoryResumableStore,
  createResumableStreams,
  methodMatch,
  queryTokenMatch,
  SseBodyError,
  type SseRequest,
  SseStreamExistsError,
  SseStreamLimitError,
  uriMatch,
  uriPrefixMatch,
} from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';
import { sleep, thrown } from './support/util.js';

const encoder = new TextEncoder();

function post(
  body: string | undefined,
  headers: Record<string, string> = {},
  url = '/chat',
): SseRequest {
  return createRequestView({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: chunksOf(body) }),
  });
}

async function* chunksOf(text: string, size = 3) {
  const bytes = encoder.encode(text);
  for (let i = 0; i < bytes.byteLength; i += size) yield bytes.subarray(i, i + size);
}

const words = (text: string): Chunk[] => text.split(' ').map((w) => ({ data: w }));

describe('matchers and methods', () => {
  const get = createRequestView({
    method: 'GET',
    url: '/chat?stream=true',
    headers: { accept: 'text/event-stream' },
  });
  const postReq = createRequestView({
    method: 'post',
    url: '/chat?stream=true',
    headers: { accept: 'text/event-stream' },
  });

  it('keep GET as the default and match other methods only when named', () => {
    expect(uriMatch('/chat')(get)).toBeTruthy();
    expect(uriMatch('/chat')(postReq)).toBeUndefined();
    expect(uriMatch('/chat', { methods: 'POST' })(postReq)).toBeTruthy();
    expect(uriMatch('/chat', { methods: 'POST' })(get)).toBeUndefined();
    expect(uriMatch('/chat', { methods: ['get', 'POST'] })(get)).toBeTruthy();
    expect(queryTokenMatch('stream=true', { methods: 'POST' })(postReq)).toBeTruthy();
    expect(acceptEventStream({ methods: 'POST' })(postReq)).toBeTruthy();
    expect(acceptEventStream()(postReq)).toBeUndefined();
    expect(uriPrefixMatch('/ch', { methods: 'POST' })(postReq)).toBeUndefined();
    expect(methodMatch('POST', 'PUT')(postReq)).toBeTruthy();
    expect(methodMatch('PUT')(postReq)).toBeUndefined();
  });

  it('refuse bad method options with a TypeError naming them', () => {
    expect(thrown(() => uriMatch('/x', { methods: [] }))).toMatchObject({
      name: 'TypeError',
      message: expect.stringContaining('uriMatch(path, options) options.methods'),
    });
    expect(thrown(() => uriMatch('/x', { methods: 'PO ST' })).message).toContain(
      'HTTP method names',
    );
    expect(thrown(() => methodMatch()).message).toContain('methodMatch(...methods)');
  });
});

describe('the request body', () => {
  it('is read once, as JSON, text or bytes', async () => {
    const req = post('{"a":[1,2]}');
    expect(await req.body?.json()).toEqual({ a: [1, 2] });
    expect(await req.body?.text()).toBe('{"a":[1,2]}');
    expect((await req.body?.bytes())?.byteLength).toBe(11);
  });

  it('is refused with 413 past the limit, before reading when Content-Length says so', async () => {
    let pulled = 0;
    async function* counted() {
      pulled += 1;
      yield encoder.encode('x'.repeat(20));
    }
    const declared = createRequestView({
      method: 'POST',
      url: '/',
      headers: { 'content-length': '20' },
      body: counted(),
    });
    const error = await declared.body?.bytes(10).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseBodyError);
    expect(error).toMatchObject({ status: 413 });
    expect(pulled).toBe(0);
    const chunked = post('x'.repeat(100));
    expect(await chunked.body?.bytes(10).catch((e: unknown) => e)).toMatchObject({ status: 413 });
  });

  it('is a 400 when malformed, empty or not UTF-8', async () => {
    expect(
      await post('{"a":')
        .body?.json()
        .catch((e: unknown) => e),
    ).toMatchObject({ status: 400, message: expect.stringContaining('not valid JSON') });
    expect(
      await post('')
        .body?.json()
        .catch((e: unknown) => e),
    ).toMatchObject({ status: 400 });
    const latin1 = createRequestView({
      method: 'POST',
      url: '/',
      headers: {},
      body: (async function* () {
        yield new Uint8Array([0xff, 0xfe]);
      })(),
    });
    expect(await latin1.body?.text().catch((e: unknown) => e)).toMatchObject({ status: 400 });
  });

  it('uses what the framework already parsed', async () => {
    const req = createRequestView({
      method: 'POST',
      url: '/',
      headers: {},
      body: { parsed: { stream: true } },
    });
    expect(await req.body?.json()).toEqual({ stream: true });
    expect(await req.body?.text()).toBe('{"stream":true}');
  });
});

describe('POST streams through the engine', () => {
  it('read the body first, into ctx.body, and stream what the source makes of it', async () => {
    const engine = createSseEngine({
      requestMatcher: uriMatch('/chat', { methods: 'POST' }),
      body: 'json',
      source: (_req, ctx) => words((ctx.body as { message: string }).message),
      endEvent: { data: '[DONE]' },
      heartbeat: 0,
    });
    const req = engine.match(post('{"message":"a b c"}'));
    expect(req).toBeDefined();
    const sink = new MemorySink();
    await engine.serve(req!, sink);
    expect(sink.status).toBe(200);
    expect(sink.text).toBe('data: a\n\ndata: b\n\ndata: c\n\ndata: [DONE]\n\n');
    expect(sink.closed).toBe(true);
  });

  it('answer 400 or 413 before any stream byte, and take no slot', async () => {
    const engine = createSseEngine({
      body: { type: 'json', maxBytes: 16 },
      source: () => [],
      maxConnections: 1,
      heartbeat: 0,
    });
    const bad = new MemorySink();
    await engine.serve(post('{"message":'), bad);
    expect(bad.status).toBe(400);
    expect(bad.headers?.['Content-Type']).toBe('text/plain');
    expect(bad.text).toContain('not valid JSON');
    const big = new MemorySink();
    await engine.serve(post(`{"m":"${'x'.repeat(40)}"}`), big);
    expect(big.status).toBe(413);
    expect(big.headers?.Connection).toBe('close');
    expect(engine.connections.active).toBe(0);
    expect(engine.stats().rejected).toBe(2);
  });

  it('answer JSON instead of a stream when options.answer says so, chosen by a body field', async () => {
    const engine = createSseEngine({
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
      answer: async (_req, ctx) => {
        const body = ctx.body as { stream?: boolean; message?: unknown };
        if (typeof body.message !== 'string')
          return { status: 400, body: 'message must be a string' };
        return body.stream
          ? undefined
          : {
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ text: body.message }),
            };
      },
      source: (_req, ctx) => words((ctx.body as { message: string }).message),
      heartbeat: 0,
    });
    const json = new MemorySink();
    await engine.serve(post('{"message":"a b"}'), json);
    expect([json.status, json.headers?.['Content-Length'], json.text]).toEqual([
      200,
      '14',
      '{"text":"a b"}',
    ]);
    const streamed = new MemorySink();
    await engine.serve(post('{"message":"a b","stream":true}'), streamed);
    expect(streamed.text).toBe('data: a\n\ndata: b\n\n');
    const invalid = new MemorySink();
    await engine.serve(post('{"message":1}'), invalid);
    expect(invalid.status).toBe(400);
    const malformed = new MemorySink();
    await engine.serve(post('{'), malformed);
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(engine.stats()).toMatchObject({ opened: 1, rejected: 2 });
  });

  it('prepare() tells an adapter the outcome before it builds a response', async () => {
    const engine = createSseEngine({ body: 'json', source: () => [] });
    expect(await engine.prepare(post('{"a":1}'))).toMatchObject({ init: { body: { a: 1 } } });
    expect(await engine.prepare(post('nope'))).toMatchObject({ answer: { status: 400 } });
    const { init } = await engine.prepare(post('{"a":2}'));
    const sink = new MemorySink();
    await engine.serve(post(undefined), sink, init);
    expect(sink.status).toBe(200);
  });

  it('give a route-level stream its own source, body and end event', async () => {
    const engine = createSseEngine({ heartbeat: 0 }, { route: true });
    const sink = new MemorySink();
    await engine.serve(post(undefined), sink, {
      source: (_req, ctx) => words(String(ctx.body)),
      body: 'x y',
      endEvent: { event: 'end', data: '' },
    });
    expect(sink.text).toBe('data: x\n\ndata: y\n\nevent: end\ndata: \n\n');
    expect(() => engine.serve(post(undefined), new MemorySink())).toThrow(/needs init.source/);
    expect(
      thrown(() => createSseEngine({ requestMatcher: uriMatch('/x') }, { route: true })).message,
    ).toBe(
      'options.requestMatcher must be absent for a route: it streams every request it is given (the matching middleware takes a matcher), received a function',
    );
  });

  it('send no end event when the client left or the source failed', async () => {
    const engine = createSseEngine(
      { heartbeat: 0, endEvent: { data: '[DONE]' }, errorEvent: null, onError: () => {} },
      { route: true },
    );
    const failed = new MemorySink();
    await engine.serve(post(undefined), failed, {
      source: async function* () {
        yield { data: 'a' };
        throw new Error('model down');
      },
    });
    expect(failed.text).toBe('data: a\n\n');
  });

  it('close the source at once when the client leaves, so its upstream call is cancelled', async () => {
    const engine = createSseEngine({ heartbeat: 0 }, { route: true });
    const sink = new MemorySink();
    let upstreamAborted = 0;
    let closed = 0;
    const serving = engine.serve(post(undefined), sink, {
      source: async function* (_req, ctx) {
        try {
          yield { data: 'first' };
          // A model call that honours the signal, as fetch does.
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              upstreamAborted = performance.now();
              resolve();
            });
          });
        } finally {
          closed += 1;
        }
      },
    });
    await sleep(10);
    const left = performance.now();
    sink.disconnect();
    await serving;
    await sleep(0);
    expect(upstreamAborted - left).toBeLessThan(50);
    expect(closed).toBe(1);
  });
});

describe('maxStreamDuration', () => {
  it('ends the stream as expired with a jittered retry line, so the client comes back', async () => {
    const reasons: string[] = [];
    const engine = createSseEngine({
      source: () => ({
        async *[Symbol.asyncIterator]() {
          yield { id: '1', data: 'x' };
          await sleep(10_000);
        },
      }),
      maxStreamDuration: 30,
      retry: 200,
      heartbeat: 0,
      hooks: { closed: (_req, reason) => reasons.push(reason) },
    });
    const sink = new MemorySink();
    const started = performance.now();
    await engine.serve(post(undefined), sink);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    const match = /retry: (\d+)\n$/.exec(sink.text);
    expect(match).not.toBeNull();
    const retry = Number(match?.[1]);
    expect(retry).toBeGreaterThanOrEqual(200);
    expect(retry).toBeLessThan(400);
    expect(sink.text.startsWith('retry: 200\nid: 1\ndata: x\n\n')).toBe(true);
    expect(reasons).toEqual(['expired']);
  });

  it('is validated up front', () => {
    expect(
      thrown(() => createSseEngine({ source: () => [], maxStreamDuration: 0 })).message,
    ).toContain('options.maxStreamDuration');
    expect(
      thrown(() => createSseEngine({ source: () => [], body: 'xml' as never })).message,
    ).toContain("options.body must be 'json', 'text' or 'bytes'");
    expect(
      thrown(() => createSseEngine({ source: () => [], endEvent: 'DONE' as never })).message,
    ).toContain('options.endEvent');
  });
});

describe('resumable streams', () => {
  const streamOf = async (source: unknown, lastEventId?: string) => {
    const engine = createSseEngine({ heartbeat: 0 }, { route: true });
    const sink = new MemorySink();
    const headers: Record<string, string> =
      lastEventId === undefined ? {} : { 'last-event-id': lastEventId };
    await engine.serve(createRequestView({ method: 'GET', url: '/', headers }), sink, {
      source: source as never,
    });
    // Ids are `<epoch>.<seq>`; what is compared is the seq.
    return sink.text.replace(/^id: [0-9a-z]+\./gm, 'id: ');
  };

  async function* slowWords(text: string, ms: number) {
    for (const word of text.split(' ')) {
      await sleep(ms);
      yield { data: word };
    }
  }

  it('replay what came after Last-Event-ID, then follow live, then end', async () => {
    const chats = createResumableStreams();
    const started = await chats.start('c1', () => slowWords('a b c d', 15));
    expect(started.epoch).toMatch(/^[0-9a-z]{8}$/);
    const id = (seq: number) => `${started.epoch}.${seq}`;
    await sleep(40);
    const answer = await chats.resume('c1', id(1));
    expect(answer.status).toBe(200);
    const text = await streamOf(answer.source, id(1));
    expect(text).toBe('id: 2\ndata: b\n\nid: 3\ndata: c\n\nid: 4\ndata: d\n\n');
    expect(await started.done).toBe('completed');
    expect((await chats.resume('c1', id(4))).status).toBe(204);
    expect((await chats.resume('nope')).status).toBe(404);
    // Not this stream's ids: from the future, a bare number, another epoch (an earlier stream
    // with the same id). Each gets the whole stream, never a silent gap.
    const whole = 'id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\nid: 4\ndata: d\n\n';
    for (const foreign of [id(999), '2', 'zzzzzzzz.2']) {
      const answerForeign = await chats.resume('c1', foreign);
      expect(await streamOf(answerForeign.source, foreign)).toBe(whole);
    }
    await expect(chats.start('c1', () => [])).rejects.toBeInstanceOf(SseStreamExistsError);
  });

  it('run to completion with nobody following, and serve several followers the same events', async () => {
    const chats = createResumableStreams();
    const { done } = await chats.start('c2', () => slowWords('one two three', 5));
    expect(await done).toBe('completed');
    const [a, b] = await Promise.all([chats.resume('c2'), chats.resume('c2', 'garbage')]);
    const texts = await Promise.all([streamOf(a.source), streamOf(b.source)]);
    expect(texts[0]).toBe('id: 1\ndata: one\n\nid: 2\ndata: two\n\nid: 3\ndata: three\n\n');
    expect(texts[1]).toBe(texts[0]);
  });

  it('stop on an explicit call, not on a client leaving; expire at the ttl; stop past the size cap', async () => {
    const chats = createResumableStreams({ ttl: 200, maxEvents: 3 });
    let signalled = false;
    const { done } = await chats.start('c3', async function* (signal) {
      signal.addEventListener('abort', () => {
        signalled = true;
      });
      for (;;) {
        yield 'tick';
        await sleep(5);
      }
    });
    expect(await done).toBe('too-large');
    expect(signalled).toBe(true);

    const long = await chats.start('c4', async function* () {
      for (;;) {
        yield 'tick';
        await sleep(1000);
      }
    });
    expect(chats.running).toBe(1);
    expect(await chats.stop('c4')).toBe(true);
    expect(await long.done).toBe('stopped');
    expect(await chats.stop('c4')).toBe(false);

    const chats2 = createResumableStreams({ ttl: 50 });
    const expiring = await chats2.start('c5', async function* () {
      await sleep(10_000);
      yield 'never';
    });
    expect(await expiring.done).toBe('expired');
    await sleep(20);
    expect((await chats2.resume('c5')).status).toBe(404);
  });

  it('refuse a start past maxRunning producers, and take starts again once one ends', async () => {
    const chats = createResumableStreams({ maxRunning: 2 });
    const hold = () =>
      async function* (signal: AbortSignal) {
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        yield 'never';
      };
    await Promise.all([chats.start('m1', hold()), chats.start('m2', hold())]);
    await expect(chats.start('m3', hold())).rejects.toBeInstanceOf(SseStreamLimitError);
    await chats.stop('m1');
    await sleep(5);
    await expect(chats.start('m3', () => [])).resolves.toMatchObject({ id: 'm3' });
    await chats.close();
  });

  it('read a stream whose lease lapsed with no end as abandoned, and end its followers', async () => {
    const store = createMemoryResumableStore();
    await store.create('orphan', 60_000, 'e0');
    await store.renew('orphan', 20);
    await store.append('orphan', { seq: 1, data: 'before the crash' });
    expect((await store.read('orphan', 0))?.abandoned).toBeUndefined();
    await sleep(30);
    expect((await store.read('orphan', 0))?.abandoned).toBe(true);
    // What another process's manager sees: the stream exists, nobody produces it.
    const chats = createResumableStreams({ store, leaseMs: 30 });
    const answer = await chats.resume('orphan');
    expect(await streamOf(answer.source)).toBe('id: 1\ndata: before the crash\n\n');
    expect((await store.read('orphan', 0))?.outcome).toBe('abandoned');
    expect((await chats.resume('orphan', 'e0.1')).status).toBe(204);
  });

  it('stop a producer past maxBytes of data', async () => {
    const chats = createResumableStreams({ maxBytes: 10 });
    const { done } = await chats.start('big', function* () {
      yield 'x'.repeat(6);
      yield 'y'.repeat(6);
      yield 'never';
    });
    expect(await done).toBe('too-large');
    const answer = await chats.resume('big');
    expect(await streamOf(answer.source)).toBe('id: 1\ndata: xxxxxx\n\n');
  });

  it('record a failing producer as failed, and refuse bad ids and chunks', async () => {
    const errors: unknown[] = [];
    const chats = createResumableStreams({ onError: (e) => errors.push(e) });
    const { done } = await chats.start('c6', function* () {
      yield 'ok';
      yield { data: 1 } as never;
    });
    expect(await done).toBe('failed');
    expect(errors).toHaveLength(1);
    await expect(chats.start('has space', () => [])).rejects.toThrow(
      /start\(id\) must be 1 to 200 characters/,
    );
    expect(thrown(() => createResumableStreams({ ttl: -1 })).message).toContain(
      'createResumableStreams(options).ttl',
    );
  });
});
