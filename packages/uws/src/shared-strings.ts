/**
 * Equal strings of different requests shared as one. uWS hands every request fresh strings, and
 * the streams of one app mostly carry the same path and the same `Host`, `Accept` or
 * `User-Agent`: a stream keeps the copy of an earlier request instead of its own. Only headers
 * that carry no secret are compared (never `Cookie` or `Authorization`), and only with the last
 * value seen, so this holds one string per name below.
 */
const SHARED_HEADER_NAMES = [
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'connection',
  'dnt',
  'host',
  'origin',
  'pragma',
  'priority',
  'sec-ch-ua',
  'sec-ch-ua-mobile',
  'sec-ch-ua-platform',
  'sec-fetch-dest',
  'sec-fetch-mode',
  'sec-fetch-site',
  'user-agent',
];

interface SharedHeader {
  readonly name: string;
  value: string;
}

const sharedHeaders = new Map<string, SharedHeader>(
  SHARED_HEADER_NAMES.map((name) => [name, { name, value: '' }]),
);

/** The literal of a known header name, and the last value seen for it when `value` equals it. */
export function sharedHeader(name: string, value: string): SharedHeader | undefined {
  const shared = sharedHeaders.get(name);
  if (shared !== undefined && shared.value !== value) shared.value = value;
  return shared;
}

const METHODS = new Map(
  ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map((method) => [
    method.toLowerCase(),
    method,
  ]),
);

/** The upper-case literal of a common method (uWS gives it lower-cased), else `method` itself. */
export function sharedMethod(method: string): string {
  return METHODS.get(method) ?? method;
}

let lastPath = '';

/** The previous request's path when it is the same. */
export function sharedPath(path: string): string {
  if (path === lastPath) return lastPath;
  lastPath = path;
  return path;
}
