import type { SseRequest } from '@sse-middleware/core';
import { type BodySource, createRequestView } from '@sse-middleware/core/adapter';
import type { UwsHttpRequest } from './uws.js';

/**
 * `req.raw` of every request the handler sees. uWebSockets.js's `HttpRequest` is only valid until
 * the route handler returns, so the handler copies what a stream may need later.
 */
export interface UwsRequestCopy {
  /** Every request header, by lower-case name; repeated headers are joined like Node.js does. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Copies method, URL, query and headers out of `req`, synchronously, while `req` is still valid. */
export function copyRequest(req: UwsHttpRequest, body?: BodySource): SseRequest {
  const headers: Record<string, string> = Object.create(null);
  req.forEach((key, value) => {
    const previous = headers[key];
    if (previous === undefined) headers[key] = value;
    else headers[key] = `${previous}${key === 'cookie' ? '; ' : ', '}${value}`;
  });
  const path = req.getUrl();
  const query = req.getQuery();
  const raw: UwsRequestCopy = { headers };
  return createRequestView({
    method: req.getMethod(),
    url: query ? `${path}?${query}` : path,
    headers,
    raw,
    body,
  });
}
