import { assertPlainObject, assertString, invalid } from '../util/validate.js';
import { type BodySource, createRequestBody, type SseRequestBody } from './body.js';

/** Case-insensitive, read-only access to request headers. */
export interface SseHeaders {
  get(name: string): string | null;
}

/**
 * A framework-neutral view of an HTTP request: what matchers and chunk generators see.
 * Adapters build one per request with {@link createRequestView}.
 */
export interface SseRequest {
  /** Upper-case method, e.g. `GET`. */
  readonly method: string;
  /** The path without the query string, e.g. `/app/metrics`. A prefix or suffix matcher may shorten it. */
  readonly path: string;
  /** The raw query string without the leading `?`; `''` when there is none. */
  readonly query: string;
  readonly headers: SseHeaders;
  /** The server's own request object (IncomingMessage, Koa context, Hono context…), for chunk generators that need it. */
  readonly raw?: unknown;
  /**
   * The request body, read at most once (`await req.body.json()`), when the adapter can read it;
   * with the `body` option the engine reads it before the stream starts (`ctx.body`).
   */
  readonly body?: SseRequestBody | undefined;
}

/** Header shapes adapters meet: Fetch `Headers`, or Node's `IncomingHttpHeaders`. */
export type HeaderSource =
  | SseHeaders
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface RequestViewInit {
  method: string;
  /** The request target: path plus optional query, e.g. `/?stream=true`. A full URL is accepted too. */
  url: string;
  headers: HeaderSource;
  raw?: unknown;
  /** Where the body is read from, if the adapter can read it (see `BodySource`). */
  body?: BodySource | undefined;
  /**
   * How long a stream keeps `raw`: its whole life (`'stream'`, the default), or until it has
   * started (`'start'`), for a per-request object of the server's that would otherwise be freed
   * once the handler returns (Hono's Context). With `'start'`, matchers, `authorize`, `answer`,
   * `hooks.opened` and the source's call see the whole view; afterwards `hooks` and `onError` get
   * it without `raw` and `body` (see {@link startedView}), and only a chunk generator, called on
   * every tick, is still handed the whole view. `raw` must then be an object.
   *
   * ```ts
   * import { createRequestView } from '@sse-middleware/core/adapter';
   *
   * const context = { user: 'ada' }; // the server's per-request object
   * const view = createRequestView({ method: 'GET', url: '/events', headers: {}, raw: context, keepRaw: 'start' });
   * ```
   */
  keepRaw?: 'stream' | 'start' | undefined;
}

/** The `raw` objects of views made with `keepRaw: 'start'`: a matcher's copy of a view keeps its `raw`. */
const releasedAtStart = new WeakSet<object>();

export function createRequestView(init: RequestViewInit): SseRequest {
  assertPlainObject('createRequestView(init)', init);
  assertString('createRequestView(init).method', init.method);
  assertString('createRequestView(init).url', init.url);
  if (typeof init.headers !== 'object' || init.headers === null) {
    throw invalid(
      'createRequestView(init).headers',
      'a Headers object or a header record',
      init.headers,
    );
  }
  const { path, query } = splitTarget(init.url);
  const headers = toSseHeaders(init.headers);
  const { keepRaw, raw } = init;
  if (keepRaw === 'start') {
    if (typeof raw !== 'object' || raw === null) {
      throw invalid('createRequestView(init).raw', "an object with keepRaw: 'start'", raw);
    }
    releasedAtStart.add(raw);
  } else if (keepRaw !== undefined && keepRaw !== 'stream') {
    throw invalid('createRequestView(init).keepRaw', "'stream' or 'start'", keepRaw);
  }
  const method = init.method.toUpperCase();
  // One literal per shape, rather than a property added later (kept outside the object, in
  // memory of its own, for every view of a request with a body).
  if (init.body === undefined) return { method, path, query, headers, raw };
  // The headers, not the header: it is looked up only if the body is read.
  const body = createRequestBody(init.body, headers);
  return { method, path, query, headers, raw, body };
}

/**
 * The view a stream keeps once it has started: `req` itself, or, when its `raw` was made with
 * `keepRaw: 'start'`, a copy without `raw` and `body` (the body is read before the start or by
 * the source itself), so that the server's per-request object can be freed.
 */
export function startedView(req: SseRequest): SseRequest {
  const raw = req.raw;
  if (typeof raw !== 'object' || raw === null || !releasedAtStart.has(raw)) return req;
  return { ...req, raw: undefined, body: undefined };
}

/** The request target (`path?query`) of a view, as an inner handler would be called with. */
export function requestTarget(req: Pick<SseRequest, 'path' | 'query'>): string {
  return req.query === '' ? req.path : `${req.path}?${req.query}`;
}

const ABSOLUTE_URL = /^[A-Za-z][A-Za-z\d+.-]*:\/\/[^/?#]*/;

function splitTarget(url: string): { path: string; query: string } {
  let target = url;
  const authority = ABSOLUTE_URL.exec(target);
  if (authority) target = target.slice(authority[0].length);
  const hash = target.indexOf('#');
  if (hash !== -1) target = target.slice(0, hash);
  const q = target.indexOf('?');
  if (q === -1) return { path: target || '/', query: '' };
  return { path: target.slice(0, q) || '/', query: target.slice(q + 1) };
}

function toSseHeaders(source: HeaderSource): SseHeaders {
  if (typeof (source as SseHeaders).get === 'function') return source as SseHeaders;
  return new RecordHeaders(
    source as Readonly<Record<string, string | readonly string[] | undefined>>,
  );
}

/**
 * A header record (Node's `IncomingHttpHeaders`) read as `Headers.get` reads: any case, an array
 * joined with `, `. A class: one is made for every request an adapter sees, so it holds no closure.
 */
class RecordHeaders implements SseHeaders {
  readonly #record: Readonly<Record<string, string | readonly string[] | undefined>>;

  constructor(record: Readonly<Record<string, string | readonly string[] | undefined>>) {
    this.#record = record;
  }

  get(name: string): string | null {
    const record = this.#record;
    const lower = name.toLowerCase();
    let value = record[lower];
    if (value === undefined) {
      const key = Object.keys(record).find((k) => k.toLowerCase() === lower);
      value = key === undefined ? undefined : record[key];
    }
    if (value === undefined) return null;
    return typeof value === 'string' ? value : value.join(', ');
  }
}
