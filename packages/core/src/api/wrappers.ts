import type { SseRequest } from '../adapter-kit/request.js';
import type { Chunk, InnerResponse, StreamContext, StreamFn } from '../engine/chunk.js';
import { abortableDelay } from '../util/abort.js';
import { assertFunction, assertNonNegativeNumber, invalid } from '../util/validate.js';
import { encodeData } from '../wire/encoder.js';

/** A delay in ms, `{initial, interval}`, or `[initial, interval]`. */
export type DelaySpec =
  | number
  | { initial?: number | undefined; interval?: number | undefined }
  | readonly [number, number];

interface Delay {
  initial: number;
  interval: number;
}

function parseDelay(spec: unknown): Delay {
  const name = 'wrapDelay(delay)';
  if (typeof spec === 'number') {
    assertNonNegativeNumber(name, spec);
    return { initial: 0, interval: spec };
  }
  if (Array.isArray(spec)) {
    if (spec.length !== 2) throw invalid(name, 'a pair [initial, interval]', spec);
    assertNonNegativeNumber(`${name}[0] (initial)`, spec[0]);
    assertNonNegativeNumber(`${name}[1] (interval)`, spec[1]);
    return { initial: spec[0], interval: spec[1] };
  }
  if (typeof spec === 'object' && spec !== null) {
    const { initial = 0, interval = 0 } = spec as { initial?: unknown; interval?: unknown };
    assertNonNegativeNumber(`${name}.initial`, initial);
    assertNonNegativeNumber(`${name}.interval`, interval);
    return { initial, interval };
  }
  throw invalid(name, 'a number, {initial, interval} or [initial, interval]', spec);
}

/**
 * Waits before each call of `f`: `initial` ms before the first call on a connection, `interval` ms
 * before every later one. The state is per connection (the original shared it across connections),
 * and the wait ends at once when the client disconnects, in which case `f` is not called and the
 * result is `undefined`.
 */
export function wrapDelay<T>(f: StreamFn<T>, delay: DelaySpec): StreamFn<T | undefined> {
  assertFunction('wrapDelay(f)', f);
  const { initial, interval } = parseDelay(delay);
  const started = new WeakSet<StreamContext>();
  return async (req, ctx) => {
    const first = !started.has(ctx);
    started.add(ctx);
    await abortableDelay(first ? initial : interval, ctx.signal);
    if (ctx.signal.aborted) return undefined;
    return f(req, ctx);
  };
}

const PASS_THROUGH = [':', 'data:', 'event:', 'id:', 'retry:'];

/**
 * Formats a string as an SSE chunk, the port of `as-sse-event`:
 * - a string starting with `:`, `data:`, `event:`, `id:` or `retry:` is already SSE and passes
 *   through, gaining a trailing `\n` if it lacks one;
 * - anything else becomes `data:` lines, one per line of the text (CR, LF and CRLF all break lines).
 *   Unlike the original, a blank line inside the text stays inside the same event.
 */
export function asSseEvent(text: string): string {
  if (typeof text !== 'string') throw invalid('asSseEvent(text)', 'a string', text);
  if (PASS_THROUGH.some((token) => text.startsWith(token))) {
    return text.endsWith('\n') || text.endsWith('\r') ? text : `${text}\n`;
  }
  return encodeData(text);
}

/** Turns strings returned by `f` into SSE `data:` chunks (see {@link asSseEvent}); events and `undefined` pass through. */
export function wrapSseEvent(f: StreamFn<Chunk>): StreamFn<Chunk> {
  assertFunction('wrapSseEvent(f)', f);
  return async (req, ctx) => {
    const result = await f(req, ctx);
    return typeof result === 'string' ? asSseEvent(result) : result;
  };
}

/** Thrown by {@link wrapFetchBody} when the inner handler's answer cannot be streamed. */
export class InnerResponseError extends Error {
  override name = 'InnerResponseError';
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/**
 * Turns a handler into a chunk source: a 2xx response yields its body (an empty string is a valid
 * body), a string result passes through, skipped ticks (`undefined`) stay skipped, and anything else
 * throws an {@link InnerResponseError} naming the status.
 */
export function wrapFetchBody(
  handler: StreamFn<InnerResponse | string | undefined>,
): StreamFn<string | undefined> {
  assertFunction('wrapFetchBody(handler)', handler);
  return async (req, ctx) => {
    const response = await handler(req, ctx);
    if (response === undefined || typeof response === 'string') return response;
    const status = typeof response === 'object' && response !== null ? response.status : undefined;
    if (typeof status !== 'number' || !Number.isInteger(status)) {
      throw new InnerResponseError(
        'Cannot understand response: it has no integer status',
        undefined,
      );
    }
    if (status < 200 || status > 299) {
      throw new InnerResponseError(
        `Cannot understand response: status ${status} is not 2xx`,
        status,
      );
    }
    if (response.body === undefined || response.body === null) {
      throw new InnerResponseError(
        `Cannot understand response: status ${status} with no body`,
        status,
      );
    }
    if (typeof response.body !== 'string') {
      throw new InnerResponseError(
        `Cannot understand response: status ${status} with a non-string body`,
        status,
      );
    }
    return response.body;
  };
}

export type ErrorReporter = (error: unknown, req: SseRequest) => void;

const defaultReporter: ErrorReporter = (error) => console.error(error);

/**
 * Reports any error thrown by `f` and re-throws it, the port of `wrap-pst`. The engine already
 * reports stream errors through its `onError` option; use this to report at a specific layer.
 */
export function wrapErrorReport<T>(
  f: StreamFn<T>,
  report: ErrorReporter = defaultReporter,
): StreamFn<T> {
  assertFunction('wrapErrorReport(f)', f);
  assertFunction('wrapErrorReport(report)', report);
  return async (req, ctx) => {
    try {
      return await f(req, ctx);
    } catch (error) {
      report(error, req);
      throw error;
    }
  };
}
