import type { SseSink } from './sink.js';
import { invalid } from './validate.js';

/**
 * The parts of a Node response (node:http `ServerResponse`, or node:http2's compat
 * `Http2ServerResponse`) the sink uses. Structural, so the core imports nothing from Node.
 */
export interface NodeResponseLike {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Uint8Array): boolean;
  end(): unknown;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** node:http sends the head at once with it; node:http2 sends it on writeHead. */
  flushHeaders?: () => void;
  /** Added by compression middleware (`compression`, koa-compress) to push out what it buffered. */
  flush?: () => void;
}

/**
 * An {@link SseSink} over a Node response. Headers already set on `res` (by CORS middleware, say)
 * are kept; the SSE headers are written over them. `write()` honours `false` by waiting for
 * `drain`, and that wait also ends when the connection closes, so it can never hang.
 */
export function createNodeResponseSink(res: NodeResponseLike): SseSink {
  if (
    typeof res?.writeHead !== 'function' ||
    typeof res.write !== 'function' ||
    typeof res.once !== 'function'
  ) {
    throw invalid(
      'createNodeResponseSink(res)',
      'a Node ServerResponse or Http2ServerResponse',
      res,
    );
  }
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  if (res.destroyed) controller.abort();

  return {
    signal: controller.signal,
    head(status, headers) {
      res.writeHead(status, headers);
      res.flushHeaders?.();
    },
    write(chunk) {
      if (controller.signal.aborted) return undefined;
      const accepted = res.write(chunk);
      res.flush?.();
      if (accepted) return undefined;
      return new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    },
    close() {
      if (!res.writableEnded && !res.destroyed) res.end();
    },
  };
}
