import { type BodyType, readBodyAs, SseBodyError } from '../adapter-kit/body.js';
import type { SseRequest } from '../adapter-kit/request.js';
import type { SseSink } from '../adapter-kit/sink.js';
import {
  type AuthorizeContext,
  checkedPrincipal,
  type SsePrincipal,
} from '../api/authorization.js';
import {
  checkedDisconnect,
  type DisconnectMessage,
  parseDisconnectMessage,
} from '../api/disconnect-bus.js';
import { resolveMatch } from '../api/matchers.js';
import { assertNonNegativeNumber, assertPlainObject, describeValue } from '../util/validate.js';
import { encodeEvent, type SseEvent } from '../wire/encoder.js';
import { expiredCredentials, PrincipalRegistry, runAuthorize } from './authority.js';
import type { SseAnswer, StreamInit } from './chunk.js';
import { createSlotPool, type EngineConnections } from './counter.js';
import { createHeartbeat } from './heartbeat.js';
import { createKeyLimiter } from './key-limiter.js';
import { createMetrics, type EngineStats, type RefusalStatus } from './metrics.js';
import { type EngineContext, resolveOptions, type SseOptions } from './options.js';
import { createRateLimiter } from './rate-limiter.js';
import { hostAllowed, originAllowed } from './request-checks.js';
import { ServedStream, type ShutdownNotice, type StreamEnvironment } from './served-stream.js';

export interface SseEngine {
  /** The matching request when `req` is to be streamed, else `undefined`. */
  match(req: SseRequest): SseRequest | undefined;
  /**
   * Answers a matching request through `sink`: a 503 when every slot is taken (429 past a
   * per-key limit), else a stream that lasts until the client leaves, the source ends, the
   * generator fails, or `close()`. With the `body` option the body is read first (400 or 413
   * when it is refused, and the head is then sent later). `init` gives a route-level stream its
   * own source, body and end event. Never rejects; throws a `TypeError` when there is no source
   * at all (a route-level engine given none).
   */
  serve(req: SseRequest, sink: SseSink, init?: StreamInit): Promise<void>;
  /**
   * `serve()` for an adapter that does not wait for the stream's end: the same answer, without
   * the promise (a stream then costs no promise of its own).
   */
  start(req: SseRequest, sink: SseSink, init?: StreamInit): void;
  /**
   * What `serve()` does before a stream starts, for adapters that must know the outcome before
   * they call it (a Web `Response` is built from the head): reads the body as the `body` option
   * says and asks `options.answer`. Resolves `{ init }` to pass to `serve()`, or `{ answer }` to
   * send instead (a 400 or 413 for a refused body, the application's own answer). Never rejects.
   */
  prepare(req: SseRequest, init?: StreamInit): Promise<Preparation>;
  /** Whether `serve()` reads a body or asks `options.answer` before a stream starts (see `prepare()`). */
  readonly prepares: boolean;
  /** Sends `answer` through `sink` instead of a stream (what `prepare()` decided, say). */
  respond(req: SseRequest, sink: SseSink, answer: SseAnswer): Promise<void>;
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
  /**
   * Ends every open stream whose principal has `key`, with `event: reauth` (`{"reason":"revoked"}`),
   * and for `refuseFor` ms answers its new streams with a 401. With `options.disconnects`, every
   * engine on the bus does the same. Resolves with how many streams this engine ended.
   */
  disconnect(filter: DisconnectMessage): Promise<number>;
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

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

function plainText(status: number, text: string, retryAfter: number): Answer {
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
  const forbidden = plainText(
    403,
    '403 Forbidden.\n\nThis origin or host may not open a stream.',
    settings.retryAfter,
  );
  const rateLimiter = settings.rateLimit
    ? createRateLimiter(settings.rateLimit.capacity, settings.rateLimit.refillPerSecond)
    : undefined;
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

  const principals = new PrincipalRegistry();
  const unavailable = plainText(
    503,
    '503 Service Unavailable.\n\nThe credentials could not be checked in time.',
    settings.retryAfter,
  );
  const stopHearing = settings.disconnects?.subscribe((message) => {
    const checked = parseDisconnectMessage(message);
    if (checked) principals.disconnect(checked);
  });

  /** Every stream adds itself at its start and removes itself at its finish: no closure each. */
  const openStreams = new Set<ServedStream>();
  let shutdown: ShutdownNotice | undefined;
  const environment: StreamEnvironment = {
    settings,
    metrics,
    heartbeat,
    retryHint,
    wait: settings.policy === 'wait',
    slots,
    open: openStreams,
  };

  function refuse(req: SseRequest, sink: SseSink, answer: Answer, closeConnection = false) {
    metrics.rejected(req, answer.status as RefusalStatus);
    try {
      // After a 413 the rest of the body is not read: the connection cannot carry another request.
      sink.head(
        answer.status,
        closeConnection ? { ...answer.headers, Connection: 'close' } : answer.headers,
      );
      sink.write(answer.body);
    } catch (error) {
      report(error, req);
    } finally {
      sink.close();
    }
    return Promise.resolve();
  }

  /** Inits that went through `prepare()`: their body is read and their answer decided. */
  const prepared = new WeakSet<StreamInit>();

  function needsPreparing(init: StreamInit | undefined): boolean {
    if (init !== undefined && prepared.has(init)) return false;
    return (
      (settings.body !== undefined && !(init !== undefined && 'body' in init)) ||
      settings.answer !== undefined ||
      (settings.authorize !== undefined && init?.principal === undefined)
    );
  }

  /** `engine.prepare()`: the admission checks, then the body and the answer; refusals counted. */
  async function prepare(req: SseRequest, init?: StreamInit): Promise<Preparation> {
    if (!needsPreparing(init)) return { init: init ?? {} };
    const refusal = admit(req);
    const preparation = refusal ? { answer: refusal } : await prepareAdmitted(req, init);
    const status = preparation.answer?.status;
    if (status !== undefined && REFUSALS.has(status))
      metrics.rejected(req, status as RefusalStatus);
    return preparation;
  }

  /**
   * Asks `options.authorize` (unless the init has its principal), reads the body and asks
   * `options.answer`, for a request already admitted.
   */
  async function prepareAdmitted(req: SseRequest, init?: StreamInit): Promise<Preparation> {
    let principal = init?.principal;
    const authorize = settings.authorize;
    if (authorize && principal === undefined) {
      const authorization = await runAuthorize(
        (ctx) => authorize(req, ctx),
        req,
        settings.authorizeTimeout,
        { failed: keyFailed, unavailable },
        report,
      );
      if (authorization.answer) return { answer: authorization.answer };
      principal = authorization.principal;
    }
    let body = init?.body;
    const spec = settings.body;
    if (spec && !(init !== undefined && 'body' in init)) {
      try {
        body = await readBodyOf(req, spec.type, spec.maxBytes);
      } catch (error) {
        if (!(error instanceof SseBodyError)) {
          report(error, req);
          return { answer: keyFailed };
        }
        return { answer: bodyAnswer(error, req), closeConnection: error.status === 413 };
      }
    }
    const ready: StreamInit =
      principal === undefined ? { ...init, body } : { ...init, body, principal };
    if (settings.answer) {
      try {
        const answer = await settings.answer(req, {
          signal: NEVER_ABORTED,
          lastEventId: undefined,
          body,
          principal,
        });
        if (answer !== undefined) return { answer: checkedAnswer(answer) };
      } catch (error) {
        report(error, req);
        return { answer: keyFailed };
      }
    }
    prepared.add(ready);
    return { init: ready };
  }

  function bodyAnswer(error: SseBodyError, req: SseRequest): SseAnswer {
    const refuse = settings.body?.refuse;
    if (refuse) {
      try {
        return checkedAnswer(refuse(error, req));
      } catch (secondary) {
        report(secondary, req);
      }
    }
    return bodyRefusal(error);
  }

  /**
   * The checks before anything is read or taken: origin, host, then the rate of new streams.
   * A refusal, or `undefined` to go on. Synchronous, so a refusal's head is sent at once.
   */
  function admit(req: SseRequest): Answer | undefined {
    if (settings.allowedOrigins && !originAllowed(req, settings.allowedOrigins)) return forbidden;
    if (settings.allowedHosts && !hostAllowed(req, settings.allowedHosts)) return forbidden;
    if (!rateLimiter || !settings.rateLimit) return undefined;
    let key: string | undefined;
    try {
      key = settings.rateLimit.key(req);
    } catch (error) {
      report(error, req);
      return keyFailed;
    }
    if (key === undefined) return undefined;
    const waitMs = rateLimiter.take(key);
    if (waitMs === 0) return undefined;
    return plainText(
      429,
      '429 Too Many Requests.\n\nNew streams are opened too fast: try again later.',
      Math.max(1, Math.ceil(waitMs / 1000)),
    );
  }

  function serve(req: SseRequest, sink: SseSink, init?: StreamInit): Promise<void> {
    return begin(req, sink, init, true) ?? Promise.resolve();
  }

  function start(req: SseRequest, sink: SseSink, init?: StreamInit): void {
    void begin(req, sink, init, false);
  }

  /** Admits and opens the stream; `wantDone`: resolves once it has ended (else undefined once open). */
  function begin(
    req: SseRequest,
    sink: SseSink,
    init: StreamInit | undefined,
    wantDone: boolean,
  ): Promise<void> | undefined {
    if (!settings.source && !settings.chunkGenerator && !init?.source) {
      throw new TypeError(
        'serve(req, sink, init) needs init.source: this route-level engine has no options.source',
      );
    }
    // A prepared init was admitted by prepare().
    if (init === undefined || !prepared.has(init)) {
      const refusal = admit(req);
      if (refusal) return refuse(req, sink, refusal);
    }
    if (!needsPreparing(init)) return open(req, sink, init, wantDone);
    return prepareAdmitted(req, init).then((preparation) =>
      'init' in preparation
        ? open(req, sink, preparation.init, wantDone)
        : respond(req, sink, preparation.answer, preparation.closeConnection),
    );
  }

  /**
   * Sends an answer instead of a stream; `counted`: a refusal among them (400, 413, 500) is counted
   * here (an answer from `prepare()` was counted there).
   */
  function respond(
    req: SseRequest,
    sink: SseSink,
    answer: SseAnswer,
    closeConnection = false,
    counted = true,
  ): Promise<void> {
    const status = answer.status ?? 200;
    if (counted && REFUSALS.has(status)) metrics.rejected(req, status as RefusalStatus);
    const body = typeof answer.body === 'string' ? textEncoder.encode(answer.body) : answer.body;
    const headers: Record<string, string> = { ...answer.headers };
    if (body !== undefined) headers['Content-Length'] = String(body.byteLength);
    if (closeConnection) headers.Connection = 'close';
    try {
      sink.head(status, headers);
      if (body !== undefined && body.byteLength > 0) sink.write(body);
    } catch (error) {
      report(error, req);
    } finally {
      sink.close();
    }
    return Promise.resolve();
  }

  function open(
    req: SseRequest,
    sink: SseSink,
    init: StreamInit | undefined,
    wantDone: boolean,
  ): Promise<void> | undefined {
    if (shutdown) return refuse(req, sink, closing);
    let principal: SsePrincipal | undefined;
    if (init?.principal !== undefined) {
      try {
        principal = checkedPrincipal('init.principal', init.principal);
      } catch (error) {
        report(error, req);
        return refuse(req, sink, keyFailed);
      }
      if (!principals.admits(principal)) return respond(req, sink, expiredCredentials);
    }
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
    const stream = new ServedStream(environment, req, sink, releaseKey, init);
    metrics.opened(req);
    if (principal) principals.add(stream, principal, revalidation(principal, req));
    stream.start();
    return wantDone ? stream.done : undefined;
  }

  /** How a stream of `principal` is checked again, per `options.revalidate`. */
  function revalidation(principal: SsePrincipal, req: SseRequest) {
    const option = settings.revalidate;
    if (!option) return undefined;
    const { check } = option;
    const authorize = settings.authorize;
    const ask = check
      ? async () => {
          const verdict = await check(principal, req);
          return verdict === true ? principal : verdict === false ? null : verdict;
        }
      : (ctx: AuthorizeContext) => authorize!(req, ctx);
    return {
      every: option.every,
      check: async () => {
        const outcome = await runAuthorize(
          ask,
          req,
          settings.authorizeTimeout,
          { failed: keyFailed, unavailable },
          report,
        );
        return outcome.principal;
      },
    };
  }

  async function disconnect(filter: DisconnectMessage): Promise<number> {
    const message = checkedDisconnect(filter);
    const ended = principals.disconnect(message);
    await settings.disconnects?.publish(message);
    return ended;
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
    stopHearing?.();
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
    start,
    close,
    stats: metrics.snapshot,
    connections: slots.view,
    reportError: report,
    prepare,
    get prepares() {
      return (
        settings.body !== undefined ||
        settings.answer !== undefined ||
        settings.authorize !== undefined
      );
    },
    disconnect,
    respond: (req, sink, answer) => respond(req, sink, answer, false, false),
  };
}

/** Reads `req.body` as `type`; a view without a body is an adapter that cannot read one. */
export function readBodyOf(req: SseRequest, type: BodyType, maxBytes: number): Promise<unknown> {
  if (!req.body) {
    return Promise.reject(
      new TypeError(
        'options.body needs a request body, and this adapter gave the request view none',
      ),
    );
  }
  return readBodyAs(req.body, type, maxBytes);
}

/** What `engine.prepare()` decided: stream with `init`, or send `answer` instead. */
export type Preparation =
  | { readonly init: StreamInit; readonly answer?: undefined }
  | { readonly answer: SseAnswer; readonly init?: undefined; readonly closeConnection?: boolean };

const REFUSALS = new Set([400, 401, 403, 413, 429, 500, 503]);
const NEVER_ABORTED = new AbortController().signal;

function checkedAnswer(answer: SseAnswer): SseAnswer {
  if (typeof answer !== 'object' || answer === null) {
    throw new TypeError(
      `an answer must be { status?, headers?, body? } or undefined, received ${describeValue(answer)}`,
    );
  }
  if (
    answer.status !== undefined &&
    (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599)
  ) {
    throw new TypeError(
      `an answer's status must be an HTTP status from 200 to 599, received ${describeValue(answer.status)}`,
    );
  }
  return answer;
}

function bodyRefusal(error: SseBodyError): Answer {
  const body = textEncoder.encode(
    `${error.status} ${error.status === 413 ? 'Payload Too Large' : 'Bad Request'}.\n\n${error.message}`,
  );
  return {
    status: error.status,
    headers: { 'Content-Type': 'text/plain', 'Content-Length': String(body.byteLength) },
    body,
  };
}
