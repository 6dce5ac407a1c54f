import type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

/**
 * Request framing that two HTTP parsers can read differently, refused before any handler runs.
 *
 * uWebSockets.js v20 frames a request by the *first* `Content-Length` of several, treats any
 * `Transfer-Encoding` (`xchunked`, `identity`, `chunked, identity`…) as chunked, and accepts a
 * `Content-Length` such as `00`. A proxy in front that frames the same bytes otherwise (by the last
 * `Content-Length`, or by `Content-Length` when it does not know the coding) forwards as one body
 * what uWS runs as a second request: request smuggling. Node.js answers all of these 400; this
 * check makes a uWS app do the same. (Both headers together, a list such as `0, 5`, a sign or a
 * letter are refused by uWS itself: it closes the connection before any handler runs.)
 */

const OWS = /^[ \t]+|[ \t]+$/g;
const DECIMAL = /^[0-9]+$/;

/**
 * Why a request's framing is ambiguous, or `undefined` when it is not. `headers` as uWS lists
 * them (`req.forEach`): lower-case names, in order, a repeated header once per line. Refused:
 *
 * - more than one `Content-Length` header, even with equal values (Node.js refuses them too);
 * - a `Content-Length` that is not a decimal number (digits only, a safe integer);
 * - more than one `Transfer-Encoding` header, or one whose value is anything but `chunked`
 *   (case-insensitive): `chunked` must be the final coding, and uWS decodes no other one, so it
 *   must be the only one;
 * - `Transfer-Encoding` together with `Content-Length`.
 */
export function framingProblem(headers: Iterable<readonly [string, string]>): string | undefined {
  const lengths: string[] = [];
  const codings: string[] = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key === 'content-length') lengths.push(value.replace(OWS, ''));
    else if (key === 'transfer-encoding') codings.push(value.replace(OWS, ''));
  }
  if (lengths.length > 1) return 'more than one Content-Length header';
  if (codings.length > 1) return 'more than one Transfer-Encoding header';
  const [length] = lengths;
  const [coding] = codings;
  if (coding !== undefined && length !== undefined) {
    return 'both Transfer-Encoding and Content-Length';
  }
  if (length !== undefined && !(DECIMAL.test(length) && Number.isSafeInteger(Number(length)))) {
    return 'a Content-Length that is not a decimal number';
  }
  if (coding !== undefined && coding.toLowerCase() !== 'chunked') {
    return 'a Transfer-Encoding other than chunked';
  }
  return undefined;
}

/**
 * Refuses a request with ambiguous framing (see {@link framingProblem}) and returns `true`: the
 * caller must then do nothing more with `res` (nor return a value uWS would act on). Returns
 * `false`, doing nothing, for every other request. Call it first thing in a route handler, while
 * `req` is valid.
 *
 * The refusal is `400 Bad Request` with `Connection: close` (uWS adds the header and closes the
 * connection), sent on the next turn of the event loop. Answering at once would not do: uWS goes
 * on parsing what came in the same packet after an answered request, so a request hidden in the
 * body would still run, even after `res.end(body, true)` or `res.close()` (measured on uWS
 * v20.30). A request left pending makes uWS close the connection, without running it, if
 * anything else arrives on it first: the hidden request is never run either way.
 */
export function refuseAmbiguousFraming(res: UwsHttpResponse, req: UwsHttpRequest): boolean {
  const headers: [string, string][] = [];
  req.forEach((name, value) => {
    if (name === 'content-length' || name === 'transfer-encoding') headers.push([name, value]);
  });
  if (headers.length === 0) return false;
  const problem = framingProblem(headers);
  if (problem === undefined) return false;
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  setImmediate(() => {
    if (aborted) return;
    res.cork(() => {
      res.writeStatus('400 Bad Request');
      res.writeHeader('Content-Type', 'text/plain; charset=utf-8');
      res.end(`400 Bad Request.\n\nAmbiguous request framing: ${problem}.`, true);
    });
  });
  return true;
}

/**
 * Wraps a uWS route handler so that it only ever sees requests with unambiguous framing; the
 * others are refused with {@link refuseAmbiguousFraming}. uWS runs one handler per request (no
 * middleware in front), so wrap every route of the app:
 *
 * ```ts
 * import uWS from 'uWebSockets.js';
 * import { guardFraming } from '@sse-middleware/uws';
 *
 * uWS
 *   .App()
 *   .post(
 *     '/publish',
 *     guardFraming((res) => {
 *       res.onAborted(() => {});
 *       res.onData((_chunk, isLast) => {
 *         if (isLast) res.end('published');
 *       });
 *     }),
 *   )
 *   .any('/*', guardFraming((res) => res.end('hello')));
 * ```
 *
 * The handlers of `sse()` apply the same check themselves.
 */
export function guardFraming<Res extends UwsHttpResponse, Req extends UwsHttpRequest>(
  handler: (res: Res, req: Req) => unknown,
): (res: Res, req: Req) => void {
  return (res, req) => {
    if (!refuseAmbiguousFraming(res, req)) void handler(res, req);
  };
}
