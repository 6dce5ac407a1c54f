import { invalid } from '../util/validate.js';

/**
 * The request headers the engine and the library's own matchers read, by lower-case name:
 * `Last-Event-ID` (where a stream resumes), `Accept` (`acceptEventStream`), `Origin` and `Host`
 * (`allowedOrigins`, `allowedHosts`) and `Content-Length` (a request body's declared size). An
 * adapter whose server request dies before the stream ends (uWS) copies at least these.
 */
const ENGINE_REQUEST_HEADERS: readonly string[] = Object.freeze([
  'last-event-id',
  'accept',
  'origin',
  'host',
  'content-length',
]);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The request headers to copy when an app declares which ones its own code reads (matchers,
 * generators, `authorize`, `limitPerKey` keys, hooks…): the declared names, lower-cased, plus
 * {@link ENGINE_REQUEST_HEADERS}. `undefined` when nothing is declared: copy every header, since
 * any user function may read any of them.
 *
 * ```ts
 * import { requestHeadersToCopy } from '@sse-middleware/core/adapter';
 *
 * const names = requestHeadersToCopy('options.requestHeaders', ['Authorization']);
 * names?.has('authorization'); // true, and names?.has('last-event-id') too
 * ```
 *
 * @throws TypeError naming `where` unless `declared` is `undefined` or an array of header names.
 */
export function requestHeadersToCopy(
  where: string,
  declared: unknown,
): ReadonlySet<string> | undefined {
  if (declared === undefined) return undefined;
  if (!Array.isArray(declared)) throw invalid(where, 'an array of header names', declared);
  const names = new Set(ENGINE_REQUEST_HEADERS);
  for (const [i, name] of declared.entries()) {
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) {
      throw invalid(`${where}[${i}]`, 'a header name such as "authorization"', name);
    }
    names.add(name.toLowerCase());
  }
  return names;
}
