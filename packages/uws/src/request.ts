import type { SseRequest } from '@sse-middleware/core';
import { type BodySource, createRequestView } from '@sse-middleware/core/adapter';
import { sharedHeader, sharedMethod, sharedPath } from './shared-strings.js';
import type { UwsHttpRequest } from './uws.js';

/**
 * `req.raw` of every request the handler sees, and its `req.headers`: the request headers,
 * copied out of uWebSockets.js's `HttpRequest`, which is only valid until the route handler
 * returns. Every header, unless the handler was told which ones are read (`requestHeaders`).
 */
export class UwsRequestCopy {
  /** Name, value, name, value…: lower-case names, a repeated header once with its values joined. */
  readonly #fields: readonly string[];
  #record: Record<string, string> | undefined;

  constructor(fields: readonly string[]) {
    this.#fields = fields;
  }

  /** The copied headers by lower-case name; repeated headers are joined like Node.js does. */
  get headers(): Readonly<Record<string, string>> {
    if (this.#record === undefined) {
      const record: Record<string, string> = Object.create(null);
      const fields = this.#fields;
      for (let i = 0; i < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
      this.#record = record;
    }
    return this.#record;
  }

  /** A header by name (any case), or `null` when the request had none or it was not copied. */
  get(name: string): string | null {
    const lower = name.toLowerCase();
    const fields = this.#fields;
    for (let i = 0; i < fields.length; i += 2) if (fields[i] === lower) return fields[i + 1]!;
    return null;
  }
}

/** Where a request's headers are collected, before they are copied out. */
const scratch: string[] = [];
const NO_FIELDS: readonly string[] = Object.freeze([]);

/**
 * Copies method, URL, query and headers out of `req`, synchronously, while `req` is still valid:
 * the headers named in `keep` (lower-case), or every header without it.
 */
export function copyRequest(
  req: UwsHttpRequest,
  keep: ReadonlySet<string> | undefined,
  body?: BodySource,
): SseRequest {
  const fields = scratch;
  req.forEach((name, value) => {
    if (keep === undefined || keep.has(name)) addHeader(fields, name, value);
  });
  // A copy of the exact length: an array grown by push() keeps room for 17 strings.
  const headers = new UwsRequestCopy(fields.length === 0 ? NO_FIELDS : fields.slice());
  fields.length = 0;
  const path = sharedPath(req.getUrl());
  const query = req.getQuery();
  return createRequestView({
    method: sharedMethod(req.getMethod()),
    url: query ? `${path}?${query}` : path,
    headers,
    raw: headers,
    body,
  });
}

function addHeader(fields: string[], name: string, value: string): void {
  for (let i = 0; i < fields.length; i += 2) {
    if (fields[i] === name) {
      fields[i + 1] = `${fields[i + 1]}${name === 'cookie' ? '; ' : ', '}${value}`;
      return;
    }
  }
  const shared = sharedHeader(name, value);
  if (shared === undefined) fields.push(name, value);
  else fields.push(shared.name, shared.value);
}
