import { isPromiseLike, raceAbort, yieldToEventLoop } from './abort.js';
import type { Chunk, ChunkGenerator, ChunkSource, InnerResponse, StreamContext } from './chunk.js';
import { type ConnectionCounter, createConnectionCounter } from './counter.js';
import { encodeEvent, isSseEvent, type SseEvent } from './encoder.js';
import { DEFAULT_SSE_HEADERS, mergeHeaders, validateHeaders } from './headers.js';
import { queryTokenMatch, type RequestMatcher, resolveMatch } from './matchers.js';
import type { SseRequest } from './request.js';
import type { SseSink } from './sink.js';
import {
  assertFunction,
  assertInteger,
  assertNonNegativeNumber,
  assertPlainObject,
  describeValue,
  invalid,
} from './validate.js';
import { wrapDelay, wrapFetchBody, wrapSseEvent } from './wrappers.js';

/** Options shared by every adapter. Every one is optional. */
export interface SseOptions {
  /** Which requests are streamed. Default: a GET whose query has `stream=true` (`queryTokenMatch('stream=true')`). */
  requestMatcher?: RequestMatcher;
  /**
   * Produces the next chunk, called again as soon as the previous one is written (pace it with
   * `wrapDelay`). Default: call the wrapped handler for the same request once per second and send its
   * body as `data:`, i.e. `wrapSseEvent(wrapFetchBody(wrapDelay(inner, 1000)))`.
   */
  chunkGenerator?: ChunkGenerator;
  /** A push source instead of a polled generator: an (async) iterable of chunks per connection. */
  source?: ChunkSource;
  /** Concurrent streams allowed; `<= 0` means unlimited. Default `10`. */
  maxConnections?: number;
  /** Headers added to the default SSE headers (a `null` value removes a default one). */
  headers?: Readonly<Record<string, string | null>>;
  /** Replaces the default status and headers entirely, like the original's `:empty-response`. */
  emptyResponse?: { status?: number; headers: Readonly<Record<string, string>> };
  /** Seconds in the `Retry-After` header of the 503 sent when every slot is taken. Default `5`. */
  retryAfter?: number;
  /** Called with every error that ends a stream. Default: `console.error`. */
  onError?: (error: unknown, req: SseRequest) => void;
  /** The last event sent when a stream fails; `null` to send none. Default: `event: error` with `Error - (<name>) <message>`. */
  errorEvent?: ((error: unknown) => SseEvent) | null;
}

/** How the default chunk generator calls the handler that the middleware wraps. */
export type InnerHandler = (req: SseRequest, ctx: StreamContext) => Promise<InnerResponse>;

export interface EngineContext {
  /** Supplied by adapters that wrap a handler, so the default chunk generator can poll it. */
  innerHandler?: InnerHandler;
}

export interface SseEngine {
  /** The matching request when `req` is to be streamed, else `undefined`. */
  match(req: SseRequest): SseRequest | undefined;
  /**
   * Answers a matching request through `sink`: a 503 when every slot is taken, else a stream that
   * lasts until the client leaves, the source ends, the generator fails, or `close()`. Never rejects.
   */
  serve(req: SseRequest, sink: SseSink): Promise<void>;
  /**
   * Graceful shutdown: refuses new streams (503), sends every open stream a final event with a
   * jittered `retry:` hint (so clients do not all reconnect at once), ends them, and resolves once
   * they have all ended or `timeout` ms have passed. Idempotent.
   */
  close(options?: CloseOptions): Promise<void>;
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

export const DEFAULT_MAX_CONNECTIONS = 10;
export const DEFAULT_INTERVAL_MS = 1000;

const OPTION_KEYS = new Set([
  'requestMatcher',
  'chunkGenerator',
  'source',
  'maxConnections',
  'headers',
  'emptyResponse',
  'retryAfter',
  'onError',
  'errorEvent',
]);

const textEncoder = new TextEncoder();

/** Builds the streaming engine that adapters drive. Validates every option up front. */
export function createSseEngine(options: SseOptions = {}, context: EngineContext = {}): SseEngine {
  const settings = resolveOptions(options, context);
  const connections = createConnectionCounter(settings.maxConnections);
  const busyBody = textEncoder.encode(
    `503 Service Unavailable.\n\nNo available streaming connection. Maximum connection limit is: ${settings.maxConnections}`,
  );
  const busyHeaders = {
    'Content-Type': 'text/plain',
    'Content-Length': String(busyBody.byteLength),
    'Retry-After': String(settings.retryAfter),
  };

  /** Ends one open stream on shutdown; the set holds exactly the streams being served. */
  const openStreams = new Map<() => void, Promise<void>>();
  let shutdown: { event: SseEvent | null; retry: number } | undefined;
  const shutdownBody = textEncoder.encode(
    '503 Service Unavailable.\n\nThe server is shutting down.',
  );
  const shutdownHeaders = {
    'Content-Type': 'text/plain',
    'Content-Length': String(shutdownBody.byteLength),
    'Retry-After': String(settings.retryAfter),
  };

  const report = (error: unknown, req: SseRequest) => {
    try {
      settings.onError(error, req);
    } catch {
      // A failing reporter must not take the server down.
    }
  };

  function refuse(
    req: SseRequest,
    sink: SseSink,
    headers: Record<string, string>,
    body: Uint8Array,
  ) {
    try {
      sink.head(503, headers);
      sink.write(body);
    } catch (error) {
      report(error, req);
    } finally {
      sink.close();
    }
  }

  function serve(req: SseRequest, sink: SseSink): Promise<void> {
    if (shutdown) {
      refuse(req, sink, shutdownHeaders, shutdownBody);
      return Promise.resolve();
    }
    const slot = connections.tryAcquire();
    if (!slot) {
      refuse(req, sink, busyHeaders, busyBody);
      return Promise.resolve();
    }
    let endedByShutdown = false;
    const end = () => {
      endedByShutdown = true;
      stop();
    };
    const controller = new AbortController();
    const stop = () => {
      slot.release();
      controller.abort();
    };
    const streaming = stream(req, sink, controller, stop).finally(() => {
      openStreams.delete(end);
      if (endedByShutdown && !sink.signal.aborted) writeFinalEvent(sink, req);
      sink.close();
    });
    openStreams.set(end, streaming);
    return streaming;
  }

  async function stream(
    req: SseRequest,
    sink: SseSink,
    controller: AbortController,
    stop: () => void,
  ) {
    sink.signal.addEventListener('abort', stop, { once: true });
    if (sink.signal.aborted) stop();
    const ctx: StreamContext = { signal: controller.signal, lastEventId: lastEventIdOf(req) };
    try {
      sink.head(settings.status, settings.headers);
      if (settings.source) await pumpSource(settings.source, req, ctx, sink);
      else await pumpGenerator(settings.chunkGenerator, req, ctx, sink);
    } catch (error) {
      if (!controller.signal.aborted) {
        writeErrorEvent(error, sink, req);
        report(error, req);
      }
    } finally {
      sink.signal.removeEventListener('abort', stop);
      stop();
    }
  }

  function writeFinalEvent(sink: SseSink, req: SseRequest) {
    if (!shutdown) return;
    const { event, retry } = shutdown;
    const jittered = retry > 0 ? retry + Math.floor(Math.random() * retry) : undefined;
    if (event === null && jittered === undefined) return;
    try {
      sink.write(
        textEncoder.encode(
          encodeEvent({ ...event, ...(jittered === undefined ? {} : { retry: jittered }) }),
        ),
      );
    } catch (error) {
      report(error, req);
    }
  }

  async function close(options: CloseOptions = {}): Promise<void> {
    assertPlainObject('close(options)', options);
    const retry = options.retry ?? 5000;
    assertNonNegativeNumber('close(options).retry', retry);
    const timeout = options.timeout ?? 5000;
    assertNonNegativeNumber('close(options).timeout', timeout);
    const event = options.event === undefined ? { event: 'shutdown', data: '' } : options.event;
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

  function writeErrorEvent(error: unknown, sink: SseSink, req: SseRequest) {
    if (!settings.errorEvent) return;
    try {
      sink.write(textEncoder.encode(encodeEvent(settings.errorEvent(error))));
    } catch (secondary) {
      report(secondary, req);
    }
  }

  return {
    match: (req) => resolveMatch(settings.requestMatcher, req),
    serve,
    close,
    connections,
  };
}

async function pumpGenerator(
  generate: ChunkGenerator,
  req: SseRequest,
  ctx: StreamContext,
  sink: SseSink,
) {
  const { signal } = ctx;
  while (!signal.aborted) {
    let chunk = generate(req, ctx);
    if (isPromiseLike<Chunk>(chunk)) {
      const settled = await raceAbort(chunk, signal);
      if (settled === raceAbort.ABORTED) return;
      chunk = settled;
    }
    if (signal.aborted) return;
    await writeChunk(chunk, sink, signal);
    // A generator that never waits must not starve other connections of the event loop.
    await yieldToEventLoop();
  }
}

async function pumpSource(source: ChunkSource, req: SseRequest, ctx: StreamContext, sink: SseSink) {
  const { signal } = ctx;
  const iterable = source(req, ctx);
  const iterator = iteratorOf(iterable);
  let finished = false;
  try {
    while (!signal.aborted) {
      let step: Awaited<ReturnType<typeof iterator.next>> | typeof raceAbort.ABORTED;
      try {
        step = await raceAbort(iterator.next(), signal);
      } catch (error) {
        finished = true; // an iterator whose next() threw is already closed
        throw error;
      }
      if (step === raceAbort.ABORTED) return;
      if (step.done) {
        finished = true;
        return;
      }
      if (signal.aborted) return;
      await writeChunk(step.value, sink, signal);
      await yieldToEventLoop();
    }
  } finally {
    if (!finished && typeof iterator.return === 'function') {
      // Not awaited: an async generator parked in an await finishes its return() only later.
      Promise.resolve(iterator.return()).catch(() => {});
    }
  }
}

function iteratorOf(iterable: unknown): AsyncIterator<Chunk> | Iterator<Chunk> {
  if (iterable !== null && typeof iterable === 'object') {
    const asyncIt = (iterable as AsyncIterable<Chunk>)[Symbol.asyncIterator];
    if (typeof asyncIt === 'function') return asyncIt.call(iterable);
    const syncIt = (iterable as Iterable<Chunk>)[Symbol.iterator];
    if (typeof syncIt === 'function') return syncIt.call(iterable);
  }
  throw new TypeError(
    `options.source must return an iterable or async iterable, returned ${describeValue(iterable)}`,
  );
}

async function writeChunk(chunk: Chunk, sink: SseSink, signal: AbortSignal) {
  if (chunk === undefined || chunk === null) return;
  const pending = sink.write(encodeChunk(chunk));
  if (pending) await raceAbort(pending, signal);
}

/** The bytes for one chunk: strings are SSE text plus the `\n` that ends the event; objects are encoded. */
export function encodeChunk(chunk: Exclude<Chunk, null | undefined>): Uint8Array {
  if (typeof chunk === 'string') return textEncoder.encode(`${chunk}\n`);
  if (isSseEvent(chunk)) return textEncoder.encode(encodeEvent(chunk));
  throw new TypeError(
    `A chunk must be a string, an SSE event object or undefined, received ${describeValue(chunk)}`,
  );
}

function lastEventIdOf(req: SseRequest): string | undefined {
  const header = req.headers.get('last-event-id');
  if (header !== null) return header;
  if (req.query === '') return undefined;
  return new URLSearchParams(req.query).get('lastEventId') ?? undefined;
}

export function defaultErrorEvent(error: unknown): SseEvent {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { event: 'error', data: `Error - (${name}) ${message}` };
}

interface Settings {
  requestMatcher: RequestMatcher;
  chunkGenerator: ChunkGenerator;
  source: ChunkSource | undefined;
  maxConnections: number;
  status: number;
  headers: Record<string, string>;
  retryAfter: number;
  onError: (error: unknown, req: SseRequest) => void;
  errorEvent: ((error: unknown) => SseEvent) | null;
}

function resolveOptions(options: SseOptions, context: EngineContext): Settings {
  assertPlainObject('options', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw invalid(`options.${key}`, `one of ${[...OPTION_KEYS].join(', ')}`, key);
  }
  const given = <K extends keyof SseOptions>(key: K): SseOptions[K] | undefined =>
    options[key] === null && key !== 'errorEvent' ? undefined : options[key];

  const requestMatcher = given('requestMatcher') ?? queryTokenMatch('stream=true');
  assertFunction('options.requestMatcher', requestMatcher);

  const source = given('source');
  if (source !== undefined) assertFunction('options.source', source);
  let chunkGenerator = given('chunkGenerator');
  if (chunkGenerator !== undefined) {
    assertFunction('options.chunkGenerator', chunkGenerator);
    if (source !== undefined) {
      throw invalid(
        'options.source',
        'absent when options.chunkGenerator is given (pick one)',
        source,
      );
    }
  } else if (source === undefined) {
    const inner = context.innerHandler;
    if (!inner) {
      throw invalid(
        'options.chunkGenerator',
        'a function (this adapter has no inner handler to poll)',
        undefined,
      );
    }
    chunkGenerator = wrapSseEvent(wrapFetchBody(wrapDelay(inner, DEFAULT_INTERVAL_MS)));
  }

  const maxConnections = given('maxConnections') ?? DEFAULT_MAX_CONNECTIONS;
  assertInteger('options.maxConnections', maxConnections);

  const retryAfter = given('retryAfter') ?? 5;
  assertNonNegativeNumber('options.retryAfter', retryAfter);
  if (!Number.isInteger(retryAfter))
    throw invalid('options.retryAfter', 'a whole number of seconds', retryAfter);

  let status = 200;
  let headers: Record<string, string>;
  const emptyResponse = given('emptyResponse');
  const extra = given('headers');
  const extraHeaders = extra === undefined ? undefined : validateHeaders('options.headers', extra);
  if (emptyResponse !== undefined) {
    assertPlainObject('options.emptyResponse', emptyResponse);
    if (emptyResponse.status !== undefined) {
      assertInteger('options.emptyResponse.status', emptyResponse.status);
      if (emptyResponse.status < 200 || emptyResponse.status > 599) {
        throw invalid(
          'options.emptyResponse.status',
          'an HTTP status from 200 to 599',
          emptyResponse.status,
        );
      }
      status = emptyResponse.status;
    }
    headers = mergeHeaders(
      validateHeaders('options.emptyResponse.headers', emptyResponse.headers),
      extraHeaders,
    );
  } else {
    headers = mergeHeaders(DEFAULT_SSE_HEADERS, extraHeaders);
  }

  const onError =
    given('onError') ??
    ((error: unknown) => console.error('[sse-middleware] stream failed:', error));
  assertFunction('options.onError', onError);

  const errorEvent = options.errorEvent === undefined ? defaultErrorEvent : options.errorEvent;
  if (errorEvent !== null) assertFunction('options.errorEvent', errorEvent);

  return {
    requestMatcher,
    chunkGenerator: chunkGenerator as ChunkGenerator,
    source,
    maxConnections,
    status,
    headers,
    retryAfter,
    onError,
    errorEvent,
  };
}
