import { invalid } from '../util/validate.js';
import type { SseSink } from './sink.js';

export interface WebStreamSink {
  readonly sink: SseSink;
  /** The response: call after the engine has called `sink.head()` (it does so synchronously in `serve()`). */
  toResponse(): Response;
}

export interface WebStreamSinkOptions {
  /**
   * Open an event stream with a `:\n` comment, for servers that complete the response head only
   * with the first body byte (Bun, like uWebSockets.js under it): the client then has the head at
   * once, not with the first event. Default `false`.
   */
  headComment?: boolean | undefined;
}

const HEAD_COMMENT = new Uint8Array([0x3a, 0x0a]); // ':\n'

/**
 * An {@link SseSink} for Fetch-API servers (Hono, Bun, Deno, Workers): a `ReadableStream` body
 * with backpressure counted in bytes. The stream ends when the client cancels the body or
 * `requestSignal` aborts.
 */
export function createWebStreamSink(
  requestSignal?: AbortSignal,
  highWaterMark = 64 * 1024,
  options: WebStreamSinkOptions = {},
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
      if (options.headComment && isEventStream(h)) streamController.enqueue(HEAD_COMMENT);
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

function isEventStream(headers: Readonly<Record<string, string>>): boolean {
  for (const name in headers) {
    if (name.toLowerCase() === 'content-type')
      return headers[name]!.startsWith('text/event-stream');
  }
  return false;
}

/**
 * The server Bun passes a fetch handler after the request (`Bun.serve({ fetch(request, server) })`),
 * recognised by the methods an adapter uses: `timeout(request, 0)` turns off the idle timeout
 * (10 s by default) for one stream.
 */
export interface BunServerLike {
  timeout(request: Request, seconds: number): void;
  requestIP(request: Request): unknown;
}

export function isBunServer(value: unknown): value is BunServerLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<BunServerLike>).timeout === 'function' &&
    typeof (value as Partial<BunServerLike>).requestIP === 'function'
  );
}
