import type { SseHeaders, SseRequest } from '@sse-middleware/core';
import { createRequestView } from '@sse-middleware/core/adapter';
import type { Context } from 'hono';
import { bodyOf } from './body.js';

/**
 * The request as matchers and the engine see it; `raw` is the Context until the stream has started
 * (`keepRaw: 'start'`), and nothing else in the view holds it, so a stream does not keep the
 * Context, its Request wrapper and their closures alive for its whole life. Headers are read from
 * the request only when asked for.
 */
export function requestView(c: Context): SseRequest {
  return createRequestView({
    method: c.req.method,
    url: c.req.url,
    headers: headersOf(c),
    raw: c,
    body: bodyOf(c.req),
    keepRaw: 'start',
  });
}

interface NodeIncoming {
  readonly rawHeaders: readonly string[];
}

/**
 * On @hono/node-server, the Node request's own header list (which that request keeps anyway),
 * read without building a `Headers` object; elsewhere the `Request`'s headers.
 */
function headersOf(c: Context): SseHeaders {
  const incoming = (c.env as { incoming?: Partial<NodeIncoming> } | undefined)?.incoming;
  if (Array.isArray(incoming?.rawHeaders)) return new RawHeaderList(incoming.rawHeaders);
  return new RequestHeaders(c.req.raw);
}

/**
 * Node's `rawHeaders` (`[name, value, name, value…]`, names as sent) read as `Headers.get` reads:
 * case-insensitive, repeated fields joined with `, ` (cookies with `; `, as Node and
 * @hono/node-server join them). HTTP/2 pseudo-headers (`:path`) are never asked for.
 */
export class RawHeaderList implements SseHeaders {
  readonly #list: readonly string[];

  constructor(list: readonly string[]) {
    this.#list = list;
  }

  get(name: string): string | null {
    const wanted = name.toLowerCase();
    const list = this.#list;
    let value: string | null = null;
    for (let i = 0; i + 1 < list.length; i += 2) {
      const field = list[i]!;
      if (field.length !== wanted.length || field.toLowerCase() !== wanted) continue;
      const fieldValue = list[i + 1]!;
      value =
        value === null ? fieldValue : `${value}${wanted === 'cookie' ? '; ' : ', '}${fieldValue}`;
    }
    return value;
  }
}

/** The headers of a Fetch `Request`, looked up only when asked for. */
class RequestHeaders implements SseHeaders {
  readonly #request: Request;

  constructor(request: Request) {
    this.#request = request;
  }

  get(name: string): string | null {
    return this.#request.headers.get(name);
  }
}
