import { invalid } from '../util/validate.js';
import type { SseSink } from './sink.js';

export interface WebStreamSink {
  readonly sink: SseSink;
  /** The response: call after the engine has called `sink.head()` (it does so synchronously in `serve()`). */
  toResponse(): Response;
}

/**
 * An {@link SseSink} for Fetch-API servers (Hono, Bun, Deno, Workers): a `ReadableStream` body
 * with backpressure counted in bytes. The stream ends when the client cancels the body or
 * `requestSignal` aborts.
 */
export function createWebStreamSink(
  requestSignal?: AbortSignal,
  highWaterMark = 64 * 1024,
): WebStreamSink {
  if (requestSignal !== undefined && !(requestSignal instanceof AbortSignal)) {
    throw invalid(
      'createWebStreamSink(requestSignal)',
      'an AbortSignal or undefined',
      requestSignal,
    );
  }
  if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
    throw invalid(
      'createWebStreamSink(highWaterMark)',
      'a positive integer of bytes',
      highWaterMark,
    );
  }
  const controller = new AbortController();
  let streamController!: ReadableStreamDefaultController<Uint8Array>;
  let pulled: (() => void) | undefined;
  let closed = false;
  let status = 200;
  let headers: Record<string, string> | undefined;

  const release = () => {
    const resolve = pulled;
    pulled = undefined;
    resolve?.();
  };
  const abort = () => {
    closed = true;
    controller.abort();
    release();
  };
  requestSignal?.addEventListener('abort', abort, { once: true });
  if (requestSignal?.aborted) abort();

  const readable = new ReadableStream<Uint8Array>(
    {
      start(c) {
        streamController = c;
      },
      pull() {
        release();
      },
      cancel() {
        abort();
      },
    },
    { highWaterMark, size: (chunk) => chunk.byteLength },
  );

  const sink: SseSink = {
    signal: controller.signal,
    head(s, h) {
      status = s;
      headers = h;
    },
    write(chunk) {
      if (closed) return undefined;
      streamController.enqueue(chunk);
      if ((streamController.desiredSize ?? 0) > 0) return undefined;
      return new Promise<void>((resolve) => {
        pulled = resolve;
      });
    },
    close() {
      if (closed) return;
      closed = true;
      requestSignal?.removeEventListener('abort', abort);
      streamController.close();
      release();
    },
  };

  return {
    sink,
    toResponse() {
      if (!headers) throw new Error('createWebStreamSink: toResponse() called before sink.head()');
      return new Response(readable, { status, headers });
    },
  };
}
