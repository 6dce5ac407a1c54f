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

/**
 * The client's headers as a poll sends them into the app: HTTP/2 pseudo-headers dropped, repeated
 * ones joined, and `Accept-Encoding: identity`, since the poll reads the body as text and a
 * compressor in the app must leave it as it is.
 */
export function pollHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | undefined,
): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.startsWith(':') || value === undefined) continue;
    forwarded[name] = typeof value === 'string' ? value : value.join(', ');
  }
  forwarded['accept-encoding'] = 'identity';
  return forwarded;
}
