import type { SseRequest } from '../adapter-kit/request.js';
import type { SseSink } from '../adapter-kit/sink.js';
import { resolveMatch } from '../api/matchers.js';
import { assertNonNegativeNumber, assertPlainObject } from '../util/validate.js';
import { encodeEvent, type SseEvent } from '../wire/encoder.js';
import { createSlotPool, type EngineConnections } from './counter.js';
import { createHeartbeat } from './heartbeat.js';
import { createKeyLimiter } from './key-limiter.js';
import { StreamLease } from './lease.js';
import { createMetrics, type EngineStats } from './metrics.js';
import { type EngineContext, resolveOptions, type SseOptions } from './options.js';
import { ServedStream, type ShutdownNotice, type StreamEnvironment } from './served-stream.js';

export interface SseEngine {
  /** The matching request when `req` is to be streamed, else `undefined`. */
  match(req: SseRequest): SseRequest | undefined;
  /**
   * Answers a matching request through `sink`: a 503 when every slot is taken (429 past a
   * per-key limit), else a stream that lasts until the client leaves, the source ends, the
   * generator fails, or `close()`. Never rejects.
   */
  serve(req: SseRequest, sink: SseSink): Promise<void>;
  /**
   * Graceful shutdown: refuses new streams (503), sends every open stream a final event with a
   * jittered `retry:` hint (so clients do not all reconnect at once), ends them, and resolves once
   * they have all ended or `timeout` ms have passed. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Counters since the engine was created: open streams, bytes written, rejections, drops… */
  stats(): EngineStats;
  /** Open streams (`active`) against `maxConnections` (`max`, `Infinity` when unlimited). */
  readonly connections: EngineConnections;
  /**
   * Hands an error to `options.onError` (a reporter that throws is ignored). Adapters report
   * through it what fails around a stream, such as the wrapped handler of a request they pass on.
   */
  reportError(error: unknown, req: SseRequest): void;
}

export interface CloseOptions {
  /** The last event of every stream; `null` for none. Default `{ event: 'shutdown', data: '' }`. */
  event?: SseEvent | null | undefined;
  /** Reconnection hint in ms, jittered per stream into [retry, 2 * retry). Default 5000; 0 sends none. */
  retry?: number | undefined;
  /** How long to wait for the streams to end, in ms. Default 5000. */
  timeout?: number | undefined;
}

const textEncoder = new TextEncoder();

function plainText(status: number, text: string, retryAfter: number) {
  const body = textEncoder.encode(text);
  const headers = {
    'Content-Type': 'text/plain',
    'Content-Length': String(body.byteLength),
    'Retry-After': String(retryAfter),
  };
  return { status, headers, body };
}

/** Builds the streaming engine that adapters drive. Validates every option up front. */
export function createSseEngine(options: SseOptions = {}, context: EngineContext = {}): SseEngine {
  const settings = resolveOptions(options, context);
  const slots = createSlotPool(settings.maxConnections);
  const keyLimiter = settings.limitPerKey ? createKeyLimiter(settings.limitPerKey.max) : undefined;
  const heartbeat = createHeartbeat(settings.heartbeat);
  const report = settings.onError;
  const metrics = createMetrics(settings.hooks, report);
  const noSlot = plainText(
    503,
    `503 Service Unavailable.\n\nNo available streaming connection. Maximum connection limit is: ${settings.maxConnections}`,
    settings.retryAfter,
  );
  const keyFull = plainText(
    429,
    `429 Too Many Requests.\n\nNo more than ${settings.limitPerKey?.max} streams per client.`,
    settings.retryAfter,
  );
  const keyFailed = plainText(
    500,
    '500 Internal Server Error.\n\nThe stream could not be opened.',
    settings.retryAfter,
  );
  const closing = plainText(
    503,
    '503 Service Unavailable.\n\nThe server is shutting down.',
    settings.retryAfter,
  );
  // The hint is the field line alone, without the blank line that would end a block: a spec parser
  // applies `retry` as it parses the line, and the line joins the block of the stream's first
  // event (every block starts at a line start), so clients that dispatch an event on every blank
  // line get no empty event for it. An event's own `retry:` comes later in that block and wins.
  const retryHint =
    settings.retry === undefined
      ? undefined
      : textEncoder.encode(encodeEvent({ retry: settings.retry }).slice(0, -1));

  const openStreams = new Set<ServedStream>();
  const forget = (stream: ServedStream) => {
    openStreams.delete(stream);
  };
  let shutdown: ShutdownNotice | undefined;
  const environment: StreamEnvironment = {
    settings,
    metrics,
    heartbeat,
    retryHint,
    wait: settings.policy === 'wait',
  };

  function refuse(req: SseRequest, sink: SseSink, answer: ReturnType<typeof plainText>) {
    metrics.rejected(req, answer.status as 429 | 500 | 503);
    try {
      sink.head(answer.status, answer.headers);
      sink.write(answer.body);
    } catch (error) {
      report(error, req);
    } finally {
      sink.close();
    }
    return Promise.resolve();
  }

  function serve(req: SseRequest, sink: SseSink): Promise<void> {
    if (shutdown) return refuse(req, sink, closing);
    if (!slots.tryTake()) return refuse(req, sink, noSlot);
    let releaseKey: (() => void) | undefined;
    if (keyLimiter && settings.limitPerKey) {
      let key: string | undefined;
      try {
        key = settings.limitPerKey.key(req);
      } catch (error) {
        slots.giveBack();
        report(error, req);
        return refuse(req, sink, keyFailed);
      }
      if (key !== undefined) {
        releaseKey = keyLimiter.tryAcquire(key);
        if (!releaseKey) {
          slots.giveBack();
          return refuse(req, sink, keyFull);
        }
      }
    }
    const stream = new ServedStream(environment, req, sink, new StreamLease(slots, releaseKey));
    metrics.opened(req);
    stream.start();
    openStreams.add(stream);
    stream.done.then(
      () => forget(stream),
      () => forget(stream),
    );
    return stream.done;
  }

  async function close(closeOptions: CloseOptions = {}): Promise<void> {
    assertPlainObject('close(options)', closeOptions);
    const retry = closeOptions.retry ?? 5000;
    assertNonNegativeNumber('close(options).retry', retry);
    const timeout = closeOptions.timeout ?? 5000;
    assertNonNegativeNumber('close(options).timeout', timeout);
    const event =
      closeOptions.event === undefined ? { event: 'shutdown', data: '' } : closeOptions.event;
    if (event !== null) encodeEvent(event);
    shutdown ??= { event, retry: Math.floor(retry) };
    const streams = [...openStreams];
    const ending = streams.map((stream) => stream.done);
    for (const stream of streams) stream.stop('shutdown', shutdown);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(ending),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeout);
      }),
    ]);
    clearTimeout(timer);
  }

  return {
    match: (req) => resolveMatch(settings.requestMatcher, req),
    serve,
    close,
    stats: metrics.snapshot,
    connections: slots.view,
    reportError: report,
  };
}
