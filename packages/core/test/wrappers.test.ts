import { describe, expect, it, vi } from 'vitest';
import { createRequestView, encodeChunk } from '../src/adapter.js';
import {
  asSseEvent,
  type InnerResponse,
  InnerResponseError,
  type SseRequest,
  type StreamContext,
  wrapDelay,
  wrapErrorReport,
  wrapFetchBody,
  wrapSseEvent,
} from '../src/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** One macrotask: every pending microtask (and every zero-delay wait of wrapDelay) has run by then. */
const tick = () => sleep(0);
const decoder = new TextDecoder();

function makeRequest(url = '/?stream=true'): SseRequest {
  return createRequestView({ method: 'GET', url, headers: {} });
}

function makeContext(): { ctx: StreamContext; abort: () => void } {
  const controller = new AbortController();
  return {
    ctx: { signal: controller.signal, lastEventId: undefined },
    abort: () => controller.abort(),
  };
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

function expectTypeError(f: () => unknown, ...parts: string[]) {
  const error = thrown(f);
  expect(error).toBeInstanceOf(TypeError);
  for (const part of parts) expect(error.message).toContain(part);
}

describe('asSseEvent: the §3.3 test vectors', () => {
  // [input, as-sse-event, on the wire (after the engine appends "\n" to a string chunk)]
  const vectors: Array<[string, string, string]> = [
    ['hello', 'data: hello\n', 'data: hello\n\n'],
    ['', 'data: \n', 'data: \n\n'],
    ['{"a":1}', 'data: {"a":1}\n', 'data: {"a":1}\n\n'],
    ['a\nb', 'data: a\ndata: b\n', 'data: a\ndata: b\n\n'],
    // Adapted: CRLF is a line break and becomes LF on the wire (original kept "\r\n").
    ['a\r\nb', 'data: a\ndata: b\n', 'data: a\ndata: b\n\n'],
    // Adapted: a lone CR is a line break and becomes LF on the wire (original kept "\r").
    ['a\rb', 'data: a\ndata: b\n', 'data: a\ndata: b\n\n'],
    // Adapted: the blank line gets its own "data: " line, so it no longer splits the event.
    ['a\n\nb', 'data: a\ndata: \ndata: b\n', 'data: a\ndata: \ndata: b\n\n'],
    // Adapted: a trailing break gives a trailing empty data line (original: "data: a\n\n").
    ['a\n', 'data: a\ndata: \n', 'data: a\ndata: \n\n'],
    ['\na', 'data: \ndata: a\n', 'data: \ndata: a\n\n'],
    // Adapted: "\n" is two empty lines (original: "data: \n\n").
    ['\n', 'data: \ndata: \n', 'data: \ndata: \n\n'],
    // Adapted: trailing CRLF gives a trailing empty data line, LF only (original: "data: a\r\n\n").
    ['a\r\n', 'data: a\ndata: \n', 'data: a\ndata: \n\n'],
    ['  x', 'data:   x\n', 'data:   x\n\n'],
    ['data: x', 'data: x\n', 'data: x\n\n'],
    ['data:x', 'data:x\n', 'data:x\n\n'],
    ['data: x\n', 'data: x\n', 'data: x\n\n'],
    ['event: tick\ndata: 1', 'event: tick\ndata: 1\n', 'event: tick\ndata: 1\n\n'],
    ['event: tick\ndata: 1\n\n', 'event: tick\ndata: 1\n\n', 'event: tick\ndata: 1\n\n\n'],
    [': ping', ': ping\n', ': ping\n\n'],
    ['id: 7', 'id: 7\n', 'id: 7\n\n'],
    ['retry: 5000', 'retry: 5000\n', 'retry: 5000\n\n'],
    ['Data: x', 'data: Data: x\n', 'data: Data: x\n\n'],
    [' data: x', 'data:  data: x\n', 'data:  data: x\n\n'],
    ['ID: 1', 'data: ID: 1\n', 'data: ID: 1\n\n'],
    ['id: 1\nhello', 'id: 1\nhello\n', 'id: 1\nhello\n\n'],
    ['event:reload\ndata:""', 'event:reload\ndata:""\n', 'event:reload\ndata:""\n\n'],
  ];

  it.each(vectors)('%j', (input, formatted, wire) => {
    expect(asSseEvent(input)).toBe(formatted);
    expect(decoder.decode(encodeChunk(asSseEvent(input)))).toBe(wire);
  });

  it('passes through a pass-through string that already ends in CR', () => {
    expect(asSseEvent('data: x\r')).toBe('data: x\r');
  });

  it('rejects a non-string', () => {
    expectTypeError(() => asSseEvent(5 as never), 'asSseEvent(text)', '5 (number)');
    expectTypeError(() => asSseEvent(null as never), 'asSseEvent(text)', 'null');
  });
});

describe('wrapSseEvent', () => {
  const req = makeRequest();
  const { ctx } = makeContext();

  it('formats strings as data lines', async () => {
    const wrapped = wrapSseEvent(() => 'a\nb');
    expect(await wrapped(req, ctx)).toBe('data: a\ndata: b\n');
  });

  it('awaits an async result', async () => {
    const wrapped = wrapSseEvent(async () => 'hello');
    expect(await wrapped(req, ctx)).toBe('data: hello\n');
  });

  it('passes events, undefined and null through unchanged', async () => {
    const event = { event: 'e', data: 'x' };
    expect(await wrapSseEvent(() => event)(req, ctx)).toBe(event);
    expect(await wrapSseEvent(() => undefined)(req, ctx)).toBeUndefined();
    expect(await wrapSseEvent(() => null)(req, ctx)).toBeNull();
  });

  it('passes request and context to f', async () => {
    const f = vi.fn(() => 'x');
    await wrapSseEvent(f)(req, ctx);
    expect(f).toHaveBeenCalledWith(req, ctx);
  });

  it('rejects a non-function', () => {
    expectTypeError(() => wrapSseEvent('x' as never), 'wrapSseEvent(f)', '"x" (string)');
  });
});

describe('wrapFetchBody', () => {
  const req = makeRequest();
  const { ctx } = makeContext();
  const fetchBody = async (response: unknown) =>
    wrapFetchBody(async () => response as InnerResponse | string | undefined)(req, ctx);

  it.each([200, 201, 204, 299])('returns the body of a %i response', async (status) => {
    expect(await fetchBody({ status, body: 'payload' })).toBe('payload');
  });

  it('accepts an empty-string body', async () => {
    expect(await fetchBody({ status: 200, body: '' })).toBe('');
  });

  it.each([199, 300, 404, 500])('throws InnerResponseError for status %i', async (status) => {
    const error = await fetchBody({ status, body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InnerResponseError);
    expect(error).toBeInstanceOf(Error);
    expect((error as InnerResponseError).name).toBe('InnerResponseError');
    expect((error as InnerResponseError).status).toBe(status);
    expect((error as Error).message).toContain(String(status));
  });

  it.each([null, undefined])('throws for a 200 with body %p', async (body) => {
    const error = await fetchBody({ status: 200, body }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InnerResponseError);
    expect((error as InnerResponseError).status).toBe(200);
    expect((error as Error).message).toContain('200');
  });

  it('throws for a non-string body', async () => {
    await expect(fetchBody({ status: 200, body: 42 })).rejects.toBeInstanceOf(InnerResponseError);
  });

  it.each([null, { body: 'x' }, { status: '200', body: 'x' }, { status: 200.5, body: 'x' }, 5])(
    'throws for a response without an integer status: %p',
    async (response) => {
      const error = await fetchBody(response).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InnerResponseError);
      expect((error as InnerResponseError).status).toBeUndefined();
    },
  );

  it('passes a string result through', async () => {
    expect(await fetchBody('raw text')).toBe('raw text');
    expect(await fetchBody('')).toBe('');
  });

  it('passes undefined (a skipped tick) through', async () => {
    expect(await fetchBody(undefined)).toBeUndefined();
  });

  it('works with a sync handler and passes request and context', async () => {
    const handler = vi.fn(() => ({ status: 200, body: 'sync' }));
    expect(await wrapFetchBody(handler)(req, ctx)).toBe('sync');
    expect(handler).toHaveBeenCalledWith(req, ctx);
  });

  it('rejects a non-function', () => {
    expectTypeError(() => wrapFetchBody(1 as never), 'wrapFetchBody(handler)', '1 (number)');
  });
});

describe('wrapErrorReport', () => {
  const req = makeRequest();
  const { ctx } = makeContext();

  it('reports an async error with the request, then rethrows the same error', async () => {
    const boom = new Error('boom');
    const report = vi.fn();
    const wrapped = wrapErrorReport(async () => {
      throw boom;
    }, report);
    await expect(wrapped(req, ctx)).rejects.toBe(boom);
    expect(report).toHaveBeenCalledTimes(1);
    expect(report).toHaveBeenCalledWith(boom, req);
  });

  it('reports a synchronous throw too', async () => {
    const boom = new TypeError('sync boom');
    const report = vi.fn();
    const wrapped = wrapErrorReport(() => {
      throw boom;
    }, report);
    await expect(wrapped(req, ctx)).rejects.toBe(boom);
    expect(report).toHaveBeenCalledWith(boom, req);
  });

  it('returns the result and reports nothing on success', async () => {
    const report = vi.fn();
    expect(await wrapErrorReport(async () => 'ok', report)(req, ctx)).toBe('ok');
    expect(report).not.toHaveBeenCalled();
  });

  it('reports through console.error by default', async () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const boom = new Error('default');
      await expect(
        wrapErrorReport(() => {
          throw boom;
        })(req, ctx),
      ).rejects.toBe(boom);
      expect(consoleError).toHaveBeenCalledWith(boom);
    } finally {
      consoleError.mockRestore();
    }
  });

  it('rejects non-functions', () => {
    expectTypeError(() => wrapErrorReport('f' as never), 'wrapErrorReport(f)', '"f" (string)');
    expectTypeError(
      () => wrapErrorReport(() => 1, 'x' as never),
      'wrapErrorReport(report)',
      '"x" (string)',
    );
  });
});

describe('wrapDelay', () => {
  const req = makeRequest();

  /** Runs `call` and gives its result and the elapsed milliseconds. */
  async function timed<T>(call: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
    const start = performance.now();
    const value = await call();
    return { value, ms: performance.now() - start };
  }

  it('with a number waits nothing before the first call and that many ms before later ones', async () => {
    const f = vi.fn(() => 'x');
    const wrapped = wrapDelay(f, 50);
    const { ctx } = makeContext();

    const first = wrapped(req, ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(1);
    expect(await first).toBe('x');

    const second = await timed(() => wrapped(req, ctx));
    expect(second.value).toBe('x');
    expect(second.ms).toBeGreaterThanOrEqual(45);
    expect(f).toHaveBeenCalledTimes(2);
    expect(f).toHaveBeenLastCalledWith(req, ctx);
  });

  it('with {initial, interval} waits initial first and interval after', async () => {
    const f = vi.fn(() => 'x');
    const wrapped = wrapDelay(f, { initial: 60, interval: 30 });
    const { ctx } = makeContext();
    const first = await timed(() => wrapped(req, ctx));
    expect(first.ms).toBeGreaterThanOrEqual(55);
    const second = await timed(() => wrapped(req, ctx));
    expect(second.ms).toBeGreaterThanOrEqual(25);
    expect(f).toHaveBeenCalledTimes(2);
  });

  it('with [initial, interval] waits initial only before the first call', async () => {
    const f = vi.fn(() => 'x');
    const wrapped = wrapDelay(f, [60, 0]);
    const { ctx } = makeContext();

    const first = await timed(() => wrapped(req, ctx));
    expect(first.ms).toBeGreaterThanOrEqual(55);
    expect(f).toHaveBeenCalledTimes(1);

    // interval 0: the second call does not wait for a timer at all.
    void wrapped(req, ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(2);
  });

  it('with an object missing a key defaults it to 0', async () => {
    const f = vi.fn(() => 'x');
    const wrapped = wrapDelay(f, { interval: 10_000 });
    const { ctx, abort } = makeContext();
    void wrapped(req, ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(1);
    const pending = wrapped(req, ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(1);
    abort();
    expect(await pending).toBeUndefined();
  });

  it('applies interval (not initial) after the first call, even when the first call threw', async () => {
    let calls = 0;
    const wrapped = wrapDelay(() => {
      calls += 1;
      if (calls === 1) throw new Error('first fails');
      return 'ok';
    }, [0, 10_000]);
    const { ctx, abort } = makeContext();
    await expect(wrapped(req, ctx)).rejects.toThrow('first fails');
    const pending = wrapped(req, ctx);
    await tick();
    expect(calls).toBe(1);
    abort();
    expect(await pending).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('keeps its state per connection: each StreamContext starts with initial', async () => {
    const f = vi.fn((_req: SseRequest, ctx: StreamContext) => ctx);
    const wrapped = wrapDelay(f, { initial: 0, interval: 10_000 });
    const a = makeContext();
    const b = makeContext();

    void wrapped(req, a.ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(1);

    // A's second call waits the interval…
    const aSecond = wrapped(req, a.ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(1);

    // …but B's first call is a first call (the original shared this state and made B wait).
    const bFirst = wrapped(req, b.ctx);
    await tick();
    expect(f).toHaveBeenCalledTimes(2);
    expect(f).toHaveBeenLastCalledWith(req, b.ctx);
    expect(await bFirst).toBe(b.ctx);

    a.abort();
    expect(await aSecond).toBeUndefined();
    expect(f).toHaveBeenCalledTimes(2);
  });

  it('waits initial for each new connection', async () => {
    const f = vi.fn(() => 'x');
    const wrapped = wrapDelay(f, { initial: 50, interval: 0 });
    const a = await timed(() => wrapped(req, makeContext().ctx));
    const b = await timed(() => wrapped(req, makeContext().ctx));
    expect(a.ms).toBeGreaterThanOrEqual(45);
    expect(b.ms).toBeGreaterThanOrEqual(45);
    expect(f).toHaveBeenCalledTimes(2);
  });

  it('returns at once without calling f when the client disconnects during the wait', async () => {
    const f = vi.fn(() => 'x');
    const wrapped = wrapDelay(f, { initial: 2000, interval: 2000 });
    const { ctx, abort } = makeContext();
    const start = performance.now();
    const pending = wrapped(req, ctx);
    setTimeout(abort, 20);
    expect(await pending).toBeUndefined();
    expect(performance.now() - start).toBeLessThan(1000);
    expect(f).not.toHaveBeenCalled();
  });

  it('does not call f when the connection is already closed', async () => {
    const f = vi.fn(() => 'x');
    const { ctx, abort } = makeContext();
    abort();
    expect(await wrapDelay(f, 0)(req, ctx)).toBeUndefined();
    expect(await wrapDelay(f, [2000, 2000])(req, ctx)).toBeUndefined();
    expect(f).not.toHaveBeenCalled();
  });

  it('rejects bad delay specs with a TypeError naming the argument', () => {
    const f = () => 'x';
    expectTypeError(() => wrapDelay(f, -1), 'wrapDelay(delay)', '-1 (number)');
    expectTypeError(() => wrapDelay(f, Number.NaN), 'wrapDelay(delay)', 'NaN (number)');
    expectTypeError(() => wrapDelay(f, Number.POSITIVE_INFINITY), 'wrapDelay(delay)', 'Infinity');
    expectTypeError(() => wrapDelay(f, '1000' as never), 'wrapDelay(delay)', '"1000" (string)');
    expectTypeError(() => wrapDelay(f, null as never), 'wrapDelay(delay)', 'null');
    expectTypeError(() => wrapDelay(f, [1] as never), 'wrapDelay(delay)', 'array of length 1');
    expectTypeError(() => wrapDelay(f, [1, 2, 3] as never), 'wrapDelay(delay)', 'length 3');
    expectTypeError(() => wrapDelay(f, [-1, 0]), 'wrapDelay(delay)[0] (initial)', '-1 (number)');
    expectTypeError(() => wrapDelay(f, [0, 'x'] as never), 'wrapDelay(delay)[1] (interval)', '"x"');
    expectTypeError(() => wrapDelay(f, { initial: -5 }), 'wrapDelay(delay).initial', '-5');
    expectTypeError(
      () => wrapDelay(f, { interval: Number.NaN }),
      'wrapDelay(delay).interval',
      'NaN',
    );
  });

  it('rejects a non-function f', () => {
    expectTypeError(() => wrapDelay('f' as never, 10), 'wrapDelay(f)', '"f" (string)');
    expectTypeError(() => wrapDelay(undefined as never, 10), 'wrapDelay(f)', 'undefined');
  });
});
