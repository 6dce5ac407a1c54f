import { assertPlainObject, invalid } from '../util/validate.js';

/** The response headers of every stream unless replaced (`emptyResponse`). */
export const DEFAULT_SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream;charset=UTF-8',
  'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate, no-transform',
  Pragma: 'no-cache',
  'X-Accel-Buffering': 'no',
});

/** Headers that are connection-specific in HTTP/1.1 and forbidden in HTTP/2: never sent by the engine. */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'proxy-connection',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** Validates a header map from options; `null` values remove a default header. */
export function validateHeaders(
  name: string,
  value: unknown,
): Readonly<Record<string, string | null>> {
  assertPlainObject(name, value);
  for (const [key, v] of Object.entries(value)) {
    if (!TOKEN.test(key)) throw invalid(`${name} key`, 'a valid header name', key);
    if (CONNECTION_SPECIFIC.has(key.toLowerCase())) {
      throw invalid(
        `${name}[${JSON.stringify(key)}]`,
        'absent: connection-specific headers break HTTP/2',
        v,
      );
    }
    if (v === null) continue;
    if (typeof v !== 'string')
      throw invalid(`${name}[${JSON.stringify(key)}]`, 'a string or null', v);
    if (BAD_VALUE.test(v)) {
      throw invalid(`${name}[${JSON.stringify(key)}]`, 'a header value without CR, LF or NUL', v);
    }
  }
  return value as Record<string, string | null>;
}

/** Merges header maps case-insensitively; later maps win; `null` deletes. Keys keep their last spelling. */
export function mergeHeaders(
  ...maps: ReadonlyArray<Readonly<Record<string, string | null>> | undefined>
): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const map of maps) {
    if (!map) continue;
    for (const [key, value] of Object.entries(map)) {
      const lower = key.toLowerCase();
      if (value === null) byLower.delete(lower);
      else byLower.set(lower, [key, value]);
    }
  }
  return Object.fromEntries(byLower.values());
}
