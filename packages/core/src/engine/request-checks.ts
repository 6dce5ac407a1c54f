import type { SseRequest } from '../adapter-kit/request.js';

/**
 * Whether a request's `Origin` may open a stream: no `Origin` header (a same-origin GET, a
 * non-browser client) always may; otherwise it must be listed, or be the request's own origin
 * when `'same-origin'` is listed. Origins compare as the browser sends them (`https://app.example`).
 */
export function originAllowed(req: SseRequest, allowed: ReadonlySet<string>): boolean {
  const origin = req.headers.get('origin');
  if (origin === null) return true;
  if (allowed.has(origin.toLowerCase())) return true;
  if (!allowed.has('same-origin')) return false;
  const host = req.headers.get('host');
  if (host === null) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Whether the `Host` header names this server: against DNS rebinding, a page on another name
 * that resolves to 127.0.0.1 reaches a local server with its own name in `Host`. An entry matches
 * the whole header (`localhost:3000`) or, without a port, its host name (`localhost`).
 */
export function hostAllowed(req: SseRequest, allowed: ReadonlySet<string>): boolean {
  const host = req.headers.get('host')?.toLowerCase();
  if (host === undefined) return false;
  if (allowed.has(host)) return true;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return allowed.has(name);
}
