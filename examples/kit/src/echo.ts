export interface RequestEcho {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  now: number;
}

/** The original's test handler: the request as JSON, with a changing timestamp. */
export function echoRequest(
  method: string,
  url: string,
  headers: Iterable<[string, string | string[] | undefined]>,
): RequestEcho {
  const parsed = new URL(url, 'http://localhost');
  const flat: Record<string, string> = {};
  for (const [key, value] of headers) {
    if (value === undefined || key.startsWith(':')) continue;
    flat[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method,
    path: parsed.pathname,
    query: Object.fromEntries(parsed.searchParams),
    headers: flat,
    now: Date.now(),
  };
}
