import type { StreamContext } from './chunk.js';
import { type ConnectionCounter, createConnectionCounter } from './counter.js';
import { encodeEvent, type SseEvent } from './encoder.js';
import { createHeartbeat } from './heartbeat.js';
import { createKeyLimiter } from './key-limiter.js';
import { resolveMatch } from './matchers.js';
import { type CloseReason, createMetrics, type EngineStats } from './metrics.js';
import { type EngineContext, resolveOptions, type SseOptions } from './options.js';
import { StreamOutput } from './output.js';
import { pumpGenerator, pumpSource } from './pumps.js';
import type { SseRequest } from './request.js';
import type { SseSink } from './sink.js';
import { assertNonNegativeNumber, assertPlainObject } from './validate.js';

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
  readonly connections: ConnectionCounter;
}

export interface CloseOptions {
  /** The last event of every stream; `null` for none. Default `{ event: 'shutdown', data: '' }`. */
  event?: SseEvent | null;
  /** Reconnection hint in ms, jittered per stream into [retry, 2 * retry). Default 5000; 0 sends none. */
  retry?: number;
  /** How long to wait for the streams to end, in ms. Default 5000. */
  timeout?: number;
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
  const connections = createConnectionCounter(settings.maxConnections);
  const keyLimiter = settings.limitPerKey ? createKeyLimiter(settings.limitPerKey.max) : undefined;
  const heartbeat = createHeartbeat(settings.heartbeat);
  const report = (error: unknown, req: SseRequest) => {
    try {
      settings.onError(error, req);
    } catch {
      // A failing reporter must not take the server down.
    }
  };
  const metrics = createMetrics(settings.hooks, report);
  const busy = plainText(
    503,
    `503 Service Unavailable.\n\nNo available streaming connection. Maximum connection limit is: ${settings.maxConnections}`,
    settings.retryAfter,
  );
  const tooMany = plainText(
    429,
    `429 Too Many Requests.\n\nNo more than ${settings.limitPerKey?.max} streams per client.`,
    settings.retryAfter,
  );
  const failedKey = plainText(
    500,
    '500 Internal Server Error.\n\nThe stream could not be opened.',
    settings.retryAfter,
  );
  const closing = plainText(
    503,
    '503 Service Unavailable.\n\nThe server is shutting down.',
    settings.retryAfter,
  );
  const retryHint =
    settings.retry === undefined
      ? undefined
      : textEncoder.encode(encodeEvent({ retry: settings.retry }));
  const wait = settings.policy === 'wait';

  /** The streams being served, each with the function that ends it on shutdown. */
  const openStreams = new Map<() => void, Promise<void>>();
  let shutdown: { event: SseEvent | null; retry: number } | undefined;

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
    const slot = connections.tryAcquire();
    if (!slot) return refuse(req, sink, busy);
    let releaseKey: (() => void) | undefined;
    if (keyLimiter && settings.limitPerKey) {
      let key: string | undefined;
      try {
        key = settings.limitPerKey.key(req);
      } catch (error) {
        slot.release();
        report(error, req);
        return refuse(req, sink, failedKey);
      }
      if (key !== undefined) {
        releaseKey = keyLimiter.tryAcquire(key);
        if (!releaseKey) {
          slot.release();
          return refuse(req, sink, tooMany);
        }
      }
    }
    const controller = new AbortController();
    let reason: CloseReason = 'client';
    const stop = (why?: CloseReason) => {
      if (why && !controller.signal.aborted) reason = why;
      slot.release();
      releaseKey?.();
      controller.abort();
    };
    const end = () => stop('shutdown');
    const output = new StreamOutput(sink, settings.maxQueuedBytes, settings.policy, {
      written: (bytes) => metrics.written(req, bytes),
      dropped: (bytes) => metrics.dropped(req, bytes),
      overflowed: () => stop('slow-consumer'),
    });
    metrics.opened(req);
    const streaming = stream(req, sink, output, controller, stop).then((why) => {
      openStreams.delete(end);
      heartbeat.delete(output);
      if (why) reason = why;
      if (reason === 'shutdown' && !sink.signal.aborted) writeFinalEvent(output, req);
      output.close();
      sink.close();
      metrics.closed(req, reason);
    });
    openStreams.set(end, streaming);
    return streaming;
  }

  async function stream(
    req: SseRequest,
    sink: SseSink,
    output: StreamOutput,
    controller: AbortController,
    stop: (why?: CloseReason) => void,
  ): Promise<CloseReason | undefined> {
    const onDisconnect = () => stop();
    sink.signal.addEventListener('abort', onDisconnect, { once: true });
    if (sink.signal.aborted) stop();
    const ctx: StreamContext = { signal: controller.signal, lastEventId: lastEventIdOf(req) };
    try {
      sink.head(settings.status, settings.headers);
      if (retryHint) output.send(retryHint);
      heartbeat.add(output);
      if (settings.source) {
        const ended = await pumpSource(settings.source, req, ctx, output, wait);
        return ended;
      }
      await pumpGenerator(settings.chunkGenerator, req, ctx, output, wait);
      return undefined;
    } catch (error) {
      if (controller.signal.aborted) return undefined;
      writeErrorEvent(error, output, req);
      report(error, req);
      return 'error';
    } finally {
      sink.signal.removeEventListener('abort', onDisconnect);
      stop();
    }
  }

  function writeErrorEvent(error: unknown, output: StreamOutput, req: SseRequest) {
    if (!settings.errorEvent) return;
    try {
      output.send(textEncoder.encode(encodeEvent(settings.errorEvent(error))));
    } catch (secondary) {
      report(secondary, req);
    }
  }

  function writeFinalEvent(output: StreamOutput, req: SseRequest) {
    if (!shutdown) return;
    const { event, retry } = shutdown;
    const jittered = retry > 0 ? retry + Math.floor(Math.random() * retry) : undefined;
    if (event === null && jittered === undefined) return;
    try {
      output.send(
        textEncoder.encode(
          encodeEvent({ ...event, ...(jittered === undefined ? {} : { retry: jittered }) }),
        ),
      );
    } catch (error) {
      report(error, req);
    }
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
    const ending = [...openStreams.values()];
    for (const end of [...openStreams.keys()]) end();
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
    connections,
  };
}

function lastEventIdOf(req: SseRequest): string | undefined {
  const header = req.headers.get('last-event-id');
  if (header !== null) return header;
  if (req.query === '') return undefined;
  return new URLSearchParams(req.query).get('lastEventId') ?? undefined;
}
