import { request } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { type SseOptions, wrapDelay } from '@sse-middleware/core';

/** The encodings a client may accept, with the decompressor it reads them through. */
const decoders = { gzip: createGunzip, br: createBrotliDecompress, deflate: createInflate };
export type Encoding = keyof typeof decoders;

/**
 * Past this many ms after the response head, the client stops waiting for the first event: by
 * then the server has produced events 2 and 3 as well.
 */
export const GIVE_UP_MS = 3500;

/** Events 1 and 2 are 1.5 s apart: event 1 must arrive long before event 2 exists. */
export function spacedEvents(): SseOptions['chunkGenerator'] {
  let n = 0;
  return wrapDelay(() => ({ data: `event ${++n}` }), 1500);
}

/** SSE options without the default `no-transform`, so that compressors may touch the stream. */
export const NO_TRANSFORM_DROPPED: Partial<SseOptions> = {
  headers: { 'Cache-Control': 'no-cache' },
};

export interface FirstEvent {
  encoding: string | undefined;
  vary: string | undefined;
  /** From the response head to the complete first event; `Infinity` if it had not come by then. */
  ms: number;
  /** What the client had decoded when the first event was complete, or when it gave up. */
  text: string;
}

/**
 * Opens the stream with `Accept-Encoding: acceptEncoding`, decompressing incrementally when the
 * response is encoded, and times the first event from the response head.
 */
export function firstCompressedEvent(url: string, acceptEncoding: Encoding): Promise<FirstEvent> {
  return new Promise((resolve, reject) => {
    const noHead = setTimeout(
      () => reject(new Error(`no response head within ${GIVE_UP_MS} ms`)),
      GIVE_UP_MS,
    );
    const req = request(
      `${url}/?stream=true`,
      { headers: { 'Accept-Encoding': acceptEncoding }, agent: false },
      (res) => {
        clearTimeout(noHead);
        const started = Date.now();
        const { 'content-encoding': encoding, vary } = res.headers;
        if (encoding !== undefined && !Object.hasOwn(decoders, encoding)) {
          req.destroy();
          reject(new Error(`unexpected Content-Encoding: ${encoding}`));
          return;
        }
        let text = '';
        const finish = (ms: number) => {
          clearTimeout(giveUp);
          req.destroy();
          resolve({ encoding, vary, ms, text });
        };
        const giveUp = setTimeout(() => finish(Number.POSITIVE_INFINITY), GIVE_UP_MS);
        const body: Readable =
          encoding === undefined ? res : res.pipe(decoders[encoding as Encoding]());
        body.setEncoding('utf8');
        body.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('\n\n')) finish(Date.now() - started);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * The first event's data, parsed as the JSON the inner app answers for `GET /`: what the default
 * poll streams when it read the route uncompressed. Throws, quoting the text, when it did not.
 */
export function polledEcho(text: string): unknown {
  const data = /(?:^|\n)data: ([^\n]*)\n/.exec(text)?.[1];
  if (data === undefined) throw new Error(`no data line in ${JSON.stringify(text)}`);
  try {
    return JSON.parse(data);
  } catch {
    throw new Error(
      `the polled body is not the route's JSON: ${JSON.stringify(data.slice(0, 200))}`,
    );
  }
}
