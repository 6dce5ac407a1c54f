import { concatBytes, SseBodyError, tooLarge } from '../adapter-kit/body.js';

/** The parts of a Node request (`IncomingMessage`, `Http2ServerRequest`) a body is read from. */
export interface NodeRequestLike {
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  on(event: 'end' | 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  off(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  off(event: 'end' | 'close', listener: () => void): unknown;
  off(event: 'error', listener: (error: unknown) => void): unknown;
  resume(): unknown;
  readonly readableEnded?: boolean;
  readonly complete?: boolean;
}

const encoder = new TextEncoder();

/**
 * The body of a Node request as a `BodySource`. Past the limit it stops keeping bytes and lets
 * the rest drain (rather than destroying the request, which would take the socket with it), so
 * the 413 still reaches the client.
 */
export function nodeBodySource(req: NodeRequestLike): (maxBytes: number) => Promise<Uint8Array> {
  return (maxBytes) =>
    new Promise<Uint8Array>((resolve, reject) => {
      if (req.readableEnded) {
        resolve(new Uint8Array(0));
        return;
      }
      const chunks: Uint8Array[] = [];
      let size = 0;
      const done = () => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onClose);
        req.off('error', onError);
      };
      const onData = (chunk: Uint8Array | string) => {
        const part = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
        size += part.byteLength;
        if (size > maxBytes) {
          done();
          req.resume();
          reject(tooLarge(maxBytes));
          return;
        }
        chunks.push(part);
      };
      const onEnd = () => {
        done();
        resolve(concatBytes(chunks, size));
      };
      const onClose = () => {
        done();
        reject(new SseBodyError(400, 'The request body was cut short.'));
      };
      const onError = (error: unknown) => {
        done();
        reject(
          new SseBodyError(400, 'The request body could not be read to its end.', { cause: error }),
        );
      };
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('close', onClose);
      req.on('error', onError);
    });
}
