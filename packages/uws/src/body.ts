import { SseBodyError } from '@sse-middleware/core';
import type { BodySource } from '@sse-middleware/core/adapter';
import type { UwsHttpRequest, UwsHttpResponse } from './uws.js';

const DEFAULT_MAX_BYTES = 1024 * 1024;

/**
 * The request body of a uWS request. uWS hands the body over only to an `onData` handler set
 * while the route handler runs, so collecting starts at once (up to `keepBytes`; past it the rest
 * is dropped and a read is refused with a 413), and a read later gets what was collected.
 */
export function uwsBodySource(
  res: UwsHttpResponse,
  hasBody: boolean,
  clientGone: () => AbortSignal,
  keepBytes: number = DEFAULT_MAX_BYTES,
): BodySource {
  if (!hasBody) return () => Promise.resolve(new Uint8Array(0));
  const chunks: Buffer[] = [];
  let size = 0;
  let settle: ((outcome: 'complete' | 'aborted') => void) | undefined;
  const outcome = new Promise<'complete' | 'aborted'>((resolve) => {
    settle = resolve;
  });
  res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    // uWS reuses `chunk` once this callback returns: copy it.
    if (size <= keepBytes) chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (isLast) settle?.('complete');
  });
  // uWS takes one onAborted handler per response, and the sink has it: listen to the sink.
  clientGone().addEventListener('abort', () => settle?.('aborted'), { once: true });
  return async (maxBytes) => {
    if ((await outcome) === 'aborted') {
      throw new SseBodyError(400, 'The request body was cut short.');
    }
    if (size > Math.min(maxBytes, keepBytes)) {
      throw new SseBodyError(413, `The request body is larger than ${maxBytes} bytes.`);
    }
    return Buffer.concat(chunks, size);
  };
}

/** The body source of a request that may have one: collected from now on if its headers say so. */
export function bodyOf(
  res: UwsHttpResponse,
  req: UwsHttpRequest,
  sink: { readonly signal: AbortSignal },
  keepBytes?: number,
): BodySource {
  const hasBody =
    req.getHeader('content-length') !== '' || req.getHeader('transfer-encoding') !== '';
  return uwsBodySource(res, hasBody, () => sink.signal, keepBytes);
}
