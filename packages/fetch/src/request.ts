import type { SseRequest } from '@sse-middleware/core';
import { type BodySource, createRequestView } from '@sse-middleware/core/adapter';

/** A body stream's chunks (through a reader: not every runtime's `ReadableStream` is async-iterable). */
async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  let done = false;
  try {
    for (let step = await reader.read(); !step.done; step = await reader.read()) yield step.value;
    done = true;
  } finally {
    // Left before its end (past the size limit): the rest is not wanted.
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** A Fetch `Request` as matchers and sources see it; `raw` is the request itself. */
export function requestView(request: Request): SseRequest {
  return createRequestView({
    method: request.method,
    url: request.url,
    headers: request.headers,
    raw: request,
    body: bodyOf(request),
  });
}

/** The body, read from the request's stream only when asked for. */
function bodyOf(request: Request): BodySource {
  return () => chunksOf(request.body);
}
