import { type BodyType, DEFAULT_MAX_BODY_BYTES, type SseBodyError } from '../adapter-kit/body.js';
import type { SseRequest } from '../adapter-kit/request.js';
import type { Authorize, SseDenial, SsePrincipal } from '../api/authorization.js';
import type { DisconnectBus } from '../api/disconnect-bus.js';
import { queryTokenMatch, type RequestMatcher } from '../api/matchers.js';
import { wrapDelay, wrapFetchBody, wrapSseEvent } from '../api/wrappers.js';
import {
  assertFunction,
  assertInteger,
  assertNonNegativeNumber,
  assertPlainObject,
  assertTimerMs,
  invalid,
  MAX_TIMER_MS,
} from '../util/validate.js';
import { encodeEvent, isSseEvent, type SseEvent } from '../wire/encoder.js';
import type {
  ChunkGenerator,
  ChunkSource,
  InnerResponse,
  SseAnswer,
  StreamContext,
} from './chunk.js';
import { DEFAULT_SSE_HEADERS, mergeHeaders, validateHeaders } from './headers.js';
import type { SseHooks } from './metrics.js';
import type { SlowConsumerPolicy } from './output.js';
import { PUSH_SOURCE } from './push-source.js';

/** Options shared by every adapter. Every one is optional. */
export interface SseOptions {
  /** Which requests are streamed. Default: a GET whose query has `stream=true` (`queryTokenMatch('stream=true')`). */
  requestMatcher?: RequestMatcher | undefined;
  /**
   * Produces the next chunk, called again as soon as the previous one is written (pace it with
   * `wrapDelay`). Default: call the wrapped handler for the same request once per second and send its
   * body as `data:`, i.e. `wrapSseEvent(wrapFetchBody(wrapDelay(inner, 1000)))`.
   */
  chunkGenerator?: ChunkGenerator | undefined;
  /** A push source instead of a polled generator: an (async) iterable of chunks per connection. */
  source?: ChunkSource | undefined;
  /** Concurrent streams allowed; `<= 0` means unlimited. Default `10`. */
  maxConnections?: number | undefined;
  /** Headers added to the default SSE headers (a `null` value removes a default one). */
  headers?: Readonly<Record<string, string | null>> | undefined;
  /** Replaces the default status and headers entirely, like the original's `:empty-response`. */
  emptyResponse?:
    | { status?: number | undefined; headers: Readonly<Record<string, string>> }
    | undefined;
  /** Seconds in the `Retry-After` header of the 503 sent when every slot is taken. Default `5`. */
  retryAfter?: number | undefined;
  /** Called with every error that ends a stream. Default: `console.error`. */
  onError?: ((error: unknown, req: SseRequest) => void) | undefined;
  /** The last event sent when a stream fails; `null` to send none. Default: `event: error` with `Error - (<name>) <message>`. */
  errorEvent?: ((error: unknown) => SseEvent) | null | undefined;
  /** A comment is sent to a stream idle for this many ms, so proxies keep it open; `0` for none. Default 15000. */
  heartbeat?: number | undefined;
  /** A `retry:` reconnection hint in ms, sent first on every stream. Default: none. */
  retry?: number | undefined;
  /**
   * A client that cannot keep up: its send queue holds at most `maxQueuedBytes` (default 1 MiB),
   * then `policy` applies. Default policy: `wait` for generators and iterables, `disconnect` for
   * channels (the client reconnects and replays what it missed).
   */
  slowConsumer?:
    | { maxQueuedBytes?: number | undefined; policy?: SlowConsumerPolicy | undefined }
    | undefined;
  /** At most `max` streams per key (`key(req)`: a client IP, a user id…); beyond, 429 with `Retry-After`. */
  limitPerKey?: { key: (req: SseRequest) => string | undefined; max: number } | undefined;
  /** Told of opens, closes, rejections, bytes written, drops and slow-consumer disconnects. */
  hooks?: SseHooks | undefined;
  /**
   * Reads the request body before the stream starts, as `'json'`, `'text'` or `'bytes'`, into
   * `ctx.body`: past `maxBytes` (default 1 MiB) the answer is a 413, a malformed body a 400, and
   * no stream starts. For POST streams (`uriMatch('/chat', { methods: 'POST' })`).
   */
  body?:
    | BodyType
    | {
        type: BodyType;
        maxBytes?: number | undefined;
        /** The answer to a refused body (an OpenAI-style JSON error, say). Default: plain text. */
        refuse?: ((error: SseBodyError, req: SseRequest) => SseAnswer) | undefined;
      }
    | undefined;
  /**
   * Decides, once the body is read, whether a request streams: return an {@link SseAnswer} to send
   * it instead (one JSON completion for `stream: false`, a 400 for an invalid request), or
   * `undefined` to stream. May be async. Default: every matching request streams.
   */
  answer?:
    | ((
        req: SseRequest,
        ctx: StreamContext,
      ) => SseAnswer | undefined | Promise<SseAnswer | undefined>)
    | undefined;
  /**
   * The last event of a stream whose source ended (not one the client left or that failed):
   * `{ data: '[DONE]' }` for the OpenAI format, `{ event: 'end', data: '' }` for an `EventSource`
   * client to `close()` on. Default: none.
   */
  endEvent?: SseEvent | null | undefined;
  /**
   * Ends a stream after this many ms with a jittered `retry:` hint (in [retry, 2 * retry), from
   * `options.retry`, default 1000 ms), so the client reconnects with its `Last-Event-ID` and a
   * channel replays what it missed. For platforms that cut responses at a fixed limit, and to
   * rebalance long-lived streams across servers. Default: no limit.
   */
  maxStreamDuration?: number | undefined;
  /**
   * Origins allowed to open a stream (`['https://app.example', 'same-origin']`): a request whose
   * `Origin` is not listed gets a 403 (CSRF protection for cookie-authenticated streams). A
   * request without `Origin` passes. `'same-origin'` allows the request's own origin. Default: any.
   */
  allowedOrigins?: readonly string[] | undefined;
  /**
   * `Host` headers this server answers to (`['localhost', '127.0.0.1:3000']`); any other gets a
   * 403 (DNS-rebinding protection for servers on localhost). Default: any.
   */
  allowedHosts?: readonly string[] | undefined;
  /**
   * New streams per key as a token bucket: `capacity` at once, refilled at `refillPerSecond`;
   * past it a 429 with `Retry-After`, before a slot is taken, so a reconnect storm from one user
   * or address cannot take every slot. A key of `undefined` is not limited.
   */
  rateLimit?:
    | { key: (req: SseRequest) => string | undefined; capacity: number; refillPerSecond: number }
    | undefined;
  /**
   * Who may open a stream, decided before any byte of it, before its body is read and before a
   * slot is taken: return an {@link SsePrincipal} (`{ key, topics?, expiresAt?, claims? }`, then
   * `ctx.principal`), or a `deny(401 | 403 | …)` refusal; `undefined` is a 401. A throw is a 500,
   * a hang past `authorizeTimeout` a 503. The stream ends with `event: reauth` at `expiresAt`, a
   * channel sends it only its principal's topics, and `disconnect({ key })` ends it.
   */
  authorize?: Authorize | undefined;
  /** How long `authorize` (and a revalidation) may take, in ms. Default 5000. */
  authorizeTimeout?: number | undefined;
  /**
   * Checks every open stream's principal again every `every` ms (a session store lookup, say):
   * `check(principal, req)` returns the principal (with a later `expiresAt`, maybe) or `true` to go
   * on, anything else to end the stream with `event: reauth`. A throw or a hang ends it too.
   * Default `check`: `options.authorize` again, for the same key.
   */
  revalidate?:
    | {
        every: number;
        check?:
          | ((
              principal: SsePrincipal,
              req: SseRequest,
            ) =>
              | SsePrincipal
              | SseDenial
              | boolean
              | null
              | undefined
              | Promise<SsePrincipal | SseDenial | boolean | null | undefined>)
          | undefined;
      }
    | undefined;
  /**
   * Where `disconnect({ key })` is published and heard, so that it ends a key's streams on every
   * engine of the bus: `createDisconnectBus()` for one process, `createRedisDisconnectBus()` for
   * all of them. Default: this engine only.
   */
  disconnects?: DisconnectBus | undefined;
}

/** The options of a route-level stream (each adapter's `sseRoute()`): every option but the matcher. */
export type SseRouteOptions = Omit<SseOptions, 'requestMatcher'>;

/** How the default chunk generator calls the handler that the middleware wraps. */
export type InnerHandler = (req: SseRequest, ctx: StreamContext) => Promise<InnerResponse>;

export interface EngineContext {
  /** Supplied by adapters that wrap a handler, so the default chunk generator can poll it. */
  innerHandler?: InnerHandler | undefined;
  /**
   * A route-level engine: it streams every request it is handed, each with the source given to
   * `serve()` or else `options.source`; no matcher, no default generator.
   */
  route?: boolean | undefined;
}

export const DEFAULT_MAX_CONNECTIONS = 10;
export const DEFAULT_INTERVAL_MS = 1000;

/** The names of every `SseOptions` property: anything else is refused as a typo. */
export const OPTION_KEYS: ReadonlySet<string> = new Set([
  'requestMatcher',
  'chunkGenerator',
  'source',
  'maxConnections',
  'headers',
  'emptyResponse',
  'retryAfter',
  'onError',
  'errorEvent',
  'heartbeat',
  'retry',
  'slowConsumer',
  'limitPerKey',
  'hooks',
  'body',
  'answer',
  'endEvent',
  'maxStreamDuration',
  'allowedOrigins',
  'allowedHosts',
  'rateLimit',
  'authorize',
  'authorizeTimeout',
  'revalidate',
  'disconnects',
]);
export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_MAX_QUEUED_BYTES = 1024 * 1024;

export function defaultErrorEvent(error: unknown): SseEvent {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return { event: 'error', data: `Error - (${name}) ${message}` };
}

export interface Settings {
  requestMatcher: RequestMatcher;
  chunkGenerator: ChunkGenerator;
  source: ChunkSource | undefined;
  maxConnections: number;
  status: number;
  headers: Record<string, string>;
  retryAfter: number;
  /** `options.onError`, made quiet: a reporter that throws is ignored. */
  onError: (error: unknown, req: SseRequest) => void;
  errorEvent: ((error: unknown) => SseEvent) | null;
  heartbeat: number;
  retry: number | undefined;
  maxQueuedBytes: number;
  policy: SlowConsumerPolicy;
  limitPerKey: { key: (req: SseRequest) => string | undefined; max: number } | undefined;
  hooks: SseHooks;
  body:
    | {
        type: BodyType;
        maxBytes: number;
        refuse: ((error: SseBodyError, req: SseRequest) => SseAnswer) | undefined;
      }
    | undefined;
  answer: SseOptions['answer'];
  /** Encoded once. */
  endEvent: Uint8Array | undefined;
  maxStreamDuration: number | undefined;
  /** Lower-cased. */
  allowedOrigins: ReadonlySet<string> | undefined;
  allowedHosts: ReadonlySet<string> | undefined;
  rateLimit: SseOptions['rateLimit'];
  authorize: Authorize | undefined;
  authorizeTimeout: number;
  revalidate: { every: number; check: NonNullable<SseOptions['revalidate']>['check'] } | undefined;
  disconnects: DisconnectBus | undefined;
}

export function resolveOptions(options: SseOptions, context: EngineContext): Settings {
  assertPlainObject('options', options);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw invalid(`options.${key}`, `one of ${[...OPTION_KEYS].join(', ')}`, key);
  }
  const given = <K extends keyof SseOptions>(key: K): SseOptions[K] | undefined =>
    options[key] === null && key !== 'errorEvent' ? undefined : options[key];

  if (context.route && given('requestMatcher') !== undefined) {
    throw invalid(
      'options.requestMatcher',
      'absent for a route: it streams every request it is given (the matching middleware takes a matcher)',
      options.requestMatcher,
    );
  }
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
  } else if (source === undefined && !context.route) {
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

  const heartbeat = given('heartbeat') ?? DEFAULT_HEARTBEAT_MS;
  assertNonNegativeNumber('options.heartbeat', heartbeat);
  if (heartbeat > MAX_TIMER_MS)
    throw invalid('options.heartbeat', `at most ${MAX_TIMER_MS} ms`, heartbeat);

  const retry = given('retry');
  if (retry !== undefined && (!Number.isSafeInteger(retry) || retry < 0)) {
    throw invalid('options.retry', 'a non-negative integer of milliseconds', retry);
  }

  const push = source !== undefined && PUSH_SOURCE in source;
  const slowConsumer = given('slowConsumer') ?? {};
  assertPlainObject('options.slowConsumer', slowConsumer);
  const maxQueuedBytes = slowConsumer.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  if (!Number.isSafeInteger(maxQueuedBytes) || maxQueuedBytes < 1) {
    throw invalid(
      'options.slowConsumer.maxQueuedBytes',
      'a positive integer of bytes',
      maxQueuedBytes,
    );
  }
  const policy = slowConsumer.policy ?? (push ? 'disconnect' : 'wait');
  if (!POLICIES.has(policy))
    throw invalid('options.slowConsumer.policy', `one of ${[...POLICIES].join(', ')}`, policy);
  if (push && policy === 'wait') {
    throw invalid(
      'options.slowConsumer.policy',
      "'drop-oldest' or 'disconnect' for a channel source (a broadcast cannot wait for one slow client)",
      policy,
    );
  }

  const limitPerKey = given('limitPerKey');
  if (limitPerKey !== undefined) {
    assertPlainObject('options.limitPerKey', limitPerKey);
    assertFunction('options.limitPerKey.key', limitPerKey.key);
    if (!Number.isSafeInteger(limitPerKey.max) || limitPerKey.max < 1) {
      throw invalid('options.limitPerKey.max', 'a positive integer', limitPerKey.max);
    }
  }

  const body = resolveBody(given('body'));
  const answer = given('answer');
  if (answer !== undefined) assertFunction('options.answer', answer);
  const endEventOption = given('endEvent');
  let endEvent: Uint8Array | undefined;
  if (endEventOption !== undefined) endEvent = encodeEndEvent('options.endEvent', endEventOption);
  const maxStreamDuration = given('maxStreamDuration');
  if (maxStreamDuration !== undefined) {
    if (
      !Number.isSafeInteger(maxStreamDuration) ||
      maxStreamDuration < 1 ||
      maxStreamDuration > MAX_TIMER_MS
    ) {
      throw invalid(
        'options.maxStreamDuration',
        `a positive integer of milliseconds, at most ${MAX_TIMER_MS}`,
        maxStreamDuration,
      );
    }
  }

  const hooks = given('hooks') ?? {};
  assertPlainObject('options.hooks', hooks);
  for (const [name, hook] of Object.entries(hooks)) {
    if (!HOOK_NAMES.has(name))
      throw invalid(`options.hooks.${name}`, `one of ${[...HOOK_NAMES].join(', ')}`, name);
    if (hook !== undefined) assertFunction(`options.hooks.${name}`, hook);
  }

  return {
    requestMatcher,
    chunkGenerator: chunkGenerator as ChunkGenerator,
    source,
    maxConnections,
    status,
    headers,
    retryAfter,
    onError: quietly(onError),
    errorEvent,
    heartbeat,
    retry,
    maxQueuedBytes,
    policy,
    limitPerKey,
    hooks,
    body,
    answer,
    endEvent,
    maxStreamDuration,
    allowedOrigins: lowerCaseSet('options.allowedOrigins', given('allowedOrigins')),
    allowedHosts: lowerCaseSet('options.allowedHosts', given('allowedHosts')),
    rateLimit: resolveRateLimit(given('rateLimit')),
    ...resolveAuthorization(options),
  };
}

export const DEFAULT_AUTHORIZE_TIMEOUT_MS = 5000;

function resolveAuthorization(
  options: SseOptions,
): Pick<Settings, 'authorize' | 'authorizeTimeout' | 'revalidate' | 'disconnects'> {
  const authorize = options.authorize ?? undefined;
  if (authorize !== undefined) assertFunction('options.authorize', authorize);
  const authorizeTimeout = options.authorizeTimeout ?? DEFAULT_AUTHORIZE_TIMEOUT_MS;
  assertTimerMs('options.authorizeTimeout', authorizeTimeout);
  let revalidate: Settings['revalidate'];
  const option = options.revalidate ?? undefined;
  if (option !== undefined) {
    assertPlainObject('options.revalidate', option);
    assertTimerMs('options.revalidate.every', option.every);
    if (option.check !== undefined) assertFunction('options.revalidate.check', option.check);
    else if (authorize === undefined) {
      throw invalid(
        'options.revalidate.check',
        'a function when there is no options.authorize to ask again',
        option.check,
      );
    }
    revalidate = { every: option.every, check: option.check };
  }
  const disconnects = options.disconnects ?? undefined;
  if (
    disconnects !== undefined &&
    (typeof disconnects !== 'object' ||
      disconnects === null ||
      typeof disconnects.publish !== 'function' ||
      typeof disconnects.subscribe !== 'function')
  ) {
    throw invalid(
      'options.disconnects',
      'a DisconnectBus with publish() and subscribe()',
      disconnects,
    );
  }
  return { authorize, authorizeTimeout, revalidate, disconnects };
}

function lowerCaseSet(
  where: string,
  list: readonly string[] | undefined,
): ReadonlySet<string> | undefined {
  if (list === undefined) return undefined;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalid(where, 'a non-empty array of strings', list);
  }
  for (const entry of list) {
    if (typeof entry !== 'string' || entry === '' || /\s/.test(entry)) {
      throw invalid(where, 'non-empty strings without whitespace', entry);
    }
  }
  return new Set(list.map((entry: string) => entry.toLowerCase()));
}

function resolveRateLimit(option: SseOptions['rateLimit']): SseOptions['rateLimit'] {
  if (option === undefined) return undefined;
  assertPlainObject('options.rateLimit', option);
  assertFunction('options.rateLimit.key', option.key);
  if (!Number.isSafeInteger(option.capacity) || option.capacity < 1) {
    throw invalid('options.rateLimit.capacity', 'a positive integer of streams', option.capacity);
  }
  if (
    typeof option.refillPerSecond !== 'number' ||
    !(option.refillPerSecond > 0) ||
    !Number.isFinite(option.refillPerSecond)
  ) {
    throw invalid(
      'options.rateLimit.refillPerSecond',
      'a positive number of streams per second',
      option.refillPerSecond,
    );
  }
  return option;
}

const BODY_TYPES = new Set<BodyType>(['json', 'text', 'bytes']);

function resolveBody(option: SseOptions['body']): Settings['body'] {
  if (option === undefined) return undefined;
  const spec = typeof option === 'string' ? { type: option } : option;
  assertPlainObject('options.body', spec);
  if (!BODY_TYPES.has(spec.type)) {
    throw invalid(
      typeof option === 'string' ? 'options.body' : 'options.body.type',
      "'json', 'text' or 'bytes'",
      spec.type,
    );
  }
  const maxBytes = spec.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) {
    throw invalid('options.body.maxBytes', 'a non-negative integer of bytes', maxBytes);
  }
  if (spec.refuse !== undefined) assertFunction('options.body.refuse', spec.refuse);
  return { type: spec.type, maxBytes, refuse: spec.refuse };
}

/** An end event encoded up front, so a bad one is refused at once; `undefined` for `null`. */
export function encodeEndEvent(where: string, event: SseEvent | null): Uint8Array | undefined {
  if (event === null) return undefined;
  if (!isSseEvent(event))
    throw invalid(where, 'an SSE event object such as { data: "[DONE]" }, or null', event);
  return textEncoder.encode(encodeEvent(event));
}

const textEncoder = new TextEncoder();

/** A reporter that throws must not take the server down: its own error is dropped. */
function quietly(onError: (error: unknown, req: SseRequest) => void) {
  return (error: unknown, req: SseRequest): void => {
    try {
      onError(error, req);
    } catch {
      // Nowhere left to report it.
    }
  };
}

const POLICIES = new Set<SlowConsumerPolicy>(['wait', 'drop-oldest', 'disconnect']);
const HOOK_NAMES = new Set(['opened', 'closed', 'rejected', 'written', 'dropped', 'slowConsumer']);
