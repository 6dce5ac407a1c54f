/**
 * Runs one poll of the default chunk generator with an abort signal of its own that follows the
 * stream's only while the poll lasts. In-memory request helpers (light-my-request, a fetch
 * `Request`) never detach the listener they add to the signal they are given, so handing them the
 * stream's signal would add a listener to it on every poll.
 */
export async function withPollSignal<T>(
  streamSignal: AbortSignal,
  poll: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const own = new AbortController();
  const abort = () => own.abort();
  if (streamSignal.aborted) own.abort();
  else streamSignal.addEventListener('abort', abort, { once: true });
  try {
    return await poll(own.signal);
  } finally {
    streamSignal.removeEventListener('abort', abort);
  }
}

/** Headers of the client's request that make no sense on a bodiless in-memory GET. */
const BODY_HEADERS = new Set(['content-length', 'transfer-encoding']);

/**
 * The client's headers as a poll sends them into the app: HTTP/2 pseudo-headers and the body's
 * framing headers dropped, repeated ones joined, and `Accept-Encoding: identity`, since the poll
 * reads the body as text and a compressor in the app must leave it as it is.
 */
export function pollHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined,
): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.startsWith(':') || value === undefined || BODY_HEADERS.has(name)) continue;
    forwarded[name] = typeof value === 'string' ? value : value.join(', ');
  }
  forwarded['accept-encoding'] = 'identity';
  return forwarded;
}

const POLLS = Symbol.for('sse-middleware.polls');

/**
 * The requests made by default chunk generators, in every copy of this module (ESM and CommonJS
 * builds loaded side by side share it through the global symbol registry).
 */
const registry = globalThis as { [POLLS]?: WeakSet<object> };
const polls: WeakSet<object> = registry[POLLS] ?? new WeakSet();
registry[POLLS] = polls;

/**
 * Marks `request` as a poll of a default chunk generator. Every SSE middleware passes a marked
 * request on to the app instead of streaming it: a poll that became a stream would never end.
 */
export function markPoll(request: object): void {
  polls.add(request);
}

/** Whether `request` is a poll of some default chunk generator (see {@link markPoll}). */
export function isPoll(request: object): boolean {
  return polls.has(request);
}
