import type { SseRequest } from '../adapter-kit/request.js';
import { assertFunction, assertPlainObject, assertString, invalid } from '../util/validate.js';

/**
 * Decides whether a request is streamed. Returns the *matching request* (possibly rewritten,
 * e.g. with a prefix stripped) to stream it, or `undefined`/`null`/`false` to pass it on.
 * Returning `true` means "match, unchanged".
 */
export type RequestMatcher = (req: SseRequest) => SseRequest | boolean | null | undefined;

/** Which methods a ported matcher accepts. Default `GET`, as in the original. */
export interface MethodOptions {
  /** One method or several, e.g. `'POST'` or `['GET', 'POST']` (any case). */
  methods?: string | readonly string[] | undefined;
}

const GET_ONLY: ReadonlySet<string> = new Set(['GET']);

/** The upper-cased method set of `options.methods`, validated; `{GET}` when absent. */
function methodSet(where: string, options: MethodOptions | undefined): ReadonlySet<string> {
  if (options === undefined) return GET_ONLY;
  assertPlainObject(`${where} options`, options);
  const { methods } = options;
  if (methods === undefined) return GET_ONLY;
  const list = typeof methods === 'string' ? [methods] : methods;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalid(`${where} options.methods`, 'a method or a non-empty array of methods', methods);
  }
  for (const method of list) {
    if (typeof method !== 'string' || !HTTP_TOKEN.test(method)) {
      throw invalid(`${where} options.methods`, 'HTTP method names such as GET or POST', method);
    }
  }
  return new Set(list.map((method: string) => method.toUpperCase()));
}

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Matches a request whose method is one of `methods` (`methodMatch('POST')`). Combine it with
 * `allOf` and a matcher of your own; the ported matchers take `{ methods }` directly.
 */
export function methodMatch(...methods: string[]): RequestMatcher {
  const accepted = methodSet('methodMatch(...methods)', { methods });
  return (req) => (accepted.has(req.method) ? req : undefined);
}

/**
 * Matches a GET whose path is exactly `path` (case-sensitive). Port of `uri-match`. Another method
 * is matched when named: `uriMatch('/v1/chat/completions', { methods: 'POST' })`.
 */
export function uriMatch(path: string, options?: MethodOptions): RequestMatcher {
  assertString('uriMatch(path)', path);
  const methods = methodSet('uriMatch(path, options)', options);
  return (req) => (methods.has(req.method) && req.path === path ? req : undefined);
}

/**
 * Matches a GET whose path starts with `prefix` at a path-segment boundary, and strips the prefix
 * (`/stream` matches `/stream` and `/stream/a`, giving paths `/` and `/a`; it never matches
 * `/streamer`). Port of `uri-prefix-match`, with the segment boundary added on purpose.
 */
export function uriPrefixMatch(prefix: string, options?: MethodOptions): RequestMatcher {
  assertString('uriPrefixMatch(prefix)', prefix);
  const methods = methodSet('uriPrefixMatch(prefix, options)', options);
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return (req) => {
    if (!methods.has(req.method)) return undefined;
    const { path } = req;
    if (path === bare || path === prefix) return { ...req, path: '/' };
    if (path.startsWith(`${bare}/`)) return { ...req, path: path.slice(bare.length) };
    return undefined;
  };
}

/** Matches a GET whose path ends with `suffix`, and strips it (`/metrics.sse` gives `/metrics`). Port of `uri-suffix-match`. */
export function uriSuffixMatch(suffix: string, options?: MethodOptions): RequestMatcher {
  assertString('uriSuffixMatch(suffix)', suffix);
  const methods = methodSet('uriSuffixMatch(suffix, options)', options);
  return (req) => {
    if (!methods.has(req.method) || !req.path.endsWith(suffix)) return undefined;
    const rest = req.path.slice(0, req.path.length - suffix.length);
    return { ...req, path: rest === '' ? '/' : rest };
  };
}

/**
 * Matches a GET whose query string has the parameter named by `token`: `stream=true` needs
 * `stream` with the value `true`; `stream` alone needs the parameter with any value. Parameters are
 * parsed and URL-decoded, so `?upstream=true` does not match `stream=true` (the original compared
 * raw substrings). The token is written as in a query string: `q=a+b` and `q=a%20b` both mean
 * "q is `a b`". Port of `query-token-match`.
 */
export function queryTokenMatch(token: string, options?: MethodOptions): RequestMatcher {
  assertString('queryTokenMatch(token)', token);
  const methods = methodSet('queryTokenMatch(token, options)', options);
  if (token === '')
    throw invalid('queryTokenMatch(token)', 'a non-empty "key" or "key=value"', token);
  // Decoded like the query it is compared with, so 'q=a+b' and 'q=a b' both match ?q=a+b.
  const [[key, parsedValue] = ['', '']] = new URLSearchParams(token);
  const value = token.includes('=') ? parsedValue : undefined;
  return (req) => {
    if (!methods.has(req.method) || req.query === '') return undefined;
    const params = new URLSearchParams(req.query);
    if (value === undefined) return params.has(key) ? req : undefined;
    return params.getAll(key).includes(value) ? req : undefined;
  };
}

/**
 * Matches a GET whose `Accept` header lists `text/event-stream` (what every `EventSource` sends).
 * With `{ methods: 'POST' }`, one route answers JSON to a POST that accepts JSON and a stream to
 * one that asks for `text/event-stream` (as MCP's Streamable HTTP does).
 */
export function acceptEventStream(options?: MethodOptions): RequestMatcher {
  const methods = methodSet('acceptEventStream(options)', options);
  return (req) => {
    if (!methods.has(req.method)) return undefined;
    const accept = req.headers.get('accept');
    if (accept === null) return undefined;
    for (const part of accept.split(',')) {
      const [type, ...params] = part.split(';');
      if (type?.trim().toLowerCase() !== 'text/event-stream') continue;
      const refused = params.some((p) => /^\s*q\s*=\s*0(\.0*)?\s*$/i.test(p));
      return refused ? undefined : req;
    }
    return undefined;
  };
}

/** Matches when any matcher matches; the first match wins. */
export function anyOf(...matchers: RequestMatcher[]): RequestMatcher {
  if (matchers.length === 0) throw invalid('anyOf(...matchers)', 'at least one matcher', matchers);
  for (const [i, m] of matchers.entries()) assertFunction(`anyOf(matchers[${i}])`, m);
  return (req) => {
    for (const matcher of matchers) {
      const matched = resolveMatch(matcher, req);
      if (matched) return matched;
    }
    return undefined;
  };
}

/** Matches when every matcher matches, each seeing the request as the previous one rewrote it. */
export function allOf(...matchers: RequestMatcher[]): RequestMatcher {
  if (matchers.length === 0) throw invalid('allOf(...matchers)', 'at least one matcher', matchers);
  for (const [i, m] of matchers.entries()) assertFunction(`allOf(matchers[${i}])`, m);
  return (req) => {
    let current = req;
    for (const matcher of matchers) {
      const matched = resolveMatch(matcher, current);
      if (!matched) return undefined;
      current = matched;
    }
    return current;
  };
}

/** Runs a matcher and normalises its answer to the matching request or `undefined`. */
export function resolveMatch(matcher: RequestMatcher, req: SseRequest): SseRequest | undefined {
  const result = matcher(req);
  if (result === true) return req;
  if (!result) return undefined;
  return result;
}
