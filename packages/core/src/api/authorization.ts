import type { SseRequest } from '../adapter-kit/request.js';
import type { SseAnswer } from '../engine/chunk.js';
import { describeValue, invalid } from '../util/validate.js';

/**
 * Who a stream is for, as `options.authorize` found it: what `disconnect({ key })` ends, the
 * topics a channel sends it, and when it must re-authenticate.
 */
export interface SsePrincipal {
  /** The user, session or client the stream belongs to: `disconnect({ key })` ends its streams. */
  readonly key: string;
  /**
   * The topics it may read: a channel sends it only events of these topics (and events published
   * without a topic), live and by replay. Default: every topic.
   */
  readonly topics?: readonly string[] | undefined;
  /** When its credentials expire (ms since the epoch, or a `Date`): the stream then ends with `event: reauth`. */
  readonly expiresAt?: number | Date | undefined;
  /** What else the application knows of it (the token's claims, say), for sources to read as `ctx.principal`. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
}

const DENIAL = Symbol('sse-middleware denial');

/** A refusal from `options.authorize`, made by {@link deny}: sent instead of a stream. */
export interface SseDenial {
  readonly [DENIAL]: true;
  readonly answer: SseAnswer & { readonly status: number };
}

export interface DenyOptions {
  /** Sent as they are; a 401 without `WWW-Authenticate` gets `Bearer realm="sse"`. */
  headers?: Readonly<Record<string, string>> | undefined;
  /** Default: the status and its reason phrase, as plain text. */
  body?: string | Uint8Array | undefined;
}

const PHRASES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
};

/**
 * What `options.authorize` returns to refuse a stream: `deny(401)` (with `WWW-Authenticate`),
 * `deny(403)`, or any 4xx status with headers and a body of the application's choosing.
 *
 * ```ts
 * import { deny } from '@sse-middleware/core';
 *
 * const refusal = deny(401, { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
 * ```
 */
export function deny(status: number, options: DenyOptions = {}): SseDenial {
  if (!Number.isInteger(status) || status < 400 || status > 499) {
    throw invalid('deny(status)', 'a 4xx HTTP status', status);
  }
  if (typeof options !== 'object' || options === null) {
    throw invalid('deny(status, options)', '{ headers?, body? }', options);
  }
  const headers: Record<string, string> = { ...options.headers };
  const named = new Set(Object.keys(headers).map((name) => name.toLowerCase()));
  if (status === 401 && !named.has('www-authenticate'))
    headers['WWW-Authenticate'] = 'Bearer realm="sse"';
  let body = options.body;
  if (body === undefined) {
    body = `${status} ${PHRASES[status] ?? 'Client Error'}.`;
    if (!named.has('content-type')) headers['Content-Type'] = 'text/plain';
  } else if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw invalid('deny(status, options).body', 'a string or a Uint8Array', body);
  }
  return Object.freeze({
    [DENIAL]: true as const,
    answer: Object.freeze({ status, headers, body }),
  });
}

export function isDenial(value: unknown): value is SseDenial {
  return typeof value === 'object' && value !== null && DENIAL in value;
}

/** What `options.authorize` is given besides the request. */
export interface AuthorizeContext {
  /** Aborts when `authorizeTimeout` passes: hand it to a `fetch` to an identity provider. */
  readonly signal: AbortSignal;
}

/**
 * Decides who may open a stream: a principal to stream for, or a {@link deny} refusal; `undefined`
 * or `null` is a 401. May be async. A throw is a 500, a hang past `authorizeTimeout` a 503.
 */
export type Authorize = (
  req: SseRequest,
  ctx: AuthorizeContext,
) =>
  | SsePrincipal
  | SseDenial
  | null
  | undefined
  | Promise<SsePrincipal | SseDenial | null | undefined>;

/** `expiresAt` as ms since the epoch, `undefined` for none. */
export function expiryOf(principal: SsePrincipal): number | undefined {
  const { expiresAt } = principal;
  if (expiresAt === undefined) return undefined;
  return expiresAt instanceof Date ? expiresAt.getTime() : expiresAt;
}

/** A principal as `authorize` (or a ticket, or `init.principal`) gave it, checked. */
export function checkedPrincipal(where: string, value: unknown): SsePrincipal {
  if (typeof value !== 'object' || value === null) {
    throw invalid(where, 'a principal { key, topics?, expiresAt?, claims? }', value);
  }
  const principal = value as SsePrincipal;
  if (typeof principal.key !== 'string' || principal.key === '') {
    throw invalid(`${where}.key`, 'a non-empty string', principal.key);
  }
  const { topics, expiresAt } = principal;
  if (
    topics !== undefined &&
    (!Array.isArray(topics) || topics.some((topic) => typeof topic !== 'string'))
  ) {
    throw invalid(`${where}.topics`, 'an array of strings', topics);
  }
  if (
    expiresAt !== undefined &&
    !(expiresAt instanceof Date && Number.isFinite(expiresAt.getTime())) &&
    !(typeof expiresAt === 'number' && Number.isFinite(expiresAt))
  ) {
    throw invalid(`${where}.expiresAt`, 'ms since the epoch or a Date', expiresAt);
  }
  if (
    principal.claims !== undefined &&
    (typeof principal.claims !== 'object' || principal.claims === null)
  ) {
    throw new TypeError(
      `${where}.claims must be an object, received ${describeValue(principal.claims)}`,
    );
  }
  return principal;
}
