import { describeValue } from '../util/validate.js';
import type { SseHeaders } from './request.js';

/** How a stream wants the request body: parsed JSON, UTF-8 text, or the bytes as they came. */
export type BodyType = 'json' | 'text' | 'bytes';

/**
 * Where an adapter reads a request body from:
 * - `{ parsed }`: what the framework's own body parsing made of it (`request.body` in Fastify,
 *   `ctx.request.body` after a Koa body parser, `req.body` after `express.json()`);
 * - an async iterable of chunks: a Node `IncomingMessage`, or a Web `ReadableStream`;
 * - a function, called only when the body is read, given the size limit: it resolves the bytes
 *   (rejecting with a {@link SseBodyError} past the limit: `nodeBodySource` for Node; uWS, whose
 *   body arrives while the handler runs), or returns an async iterable to read as above (a Web
 *   `Request`'s body, which some servers build only when asked for).
 */
export type BodySource =
  | { readonly parsed: unknown }
  | AsyncIterable<Uint8Array | string>
  | ((maxBytes: number) => Promise<Uint8Array> | AsyncIterable<Uint8Array | string>);

/** Why a body was refused: `413` past the size limit, `400` when it is malformed or cut short. */
export class SseBodyError extends Error {
  override readonly name = 'SseBodyError';
  readonly status: 400 | 413;
  constructor(status: 400 | 413, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
  }
}

/** The request body of a view: read at most once, whichever form is asked for first. */
export interface SseRequestBody {
  /** The body's bytes; a `SseBodyError` (413) past `maxBytes` (default 1 MiB). */
  bytes(maxBytes?: number): Promise<Uint8Array>;
  /** The body as UTF-8 text (a `SseBodyError` 400 when it is not valid UTF-8). */
  text(maxBytes?: number): Promise<string>;
  /** The body parsed as JSON (a `SseBodyError` 400 when it is empty or not JSON). */
  json(maxBytes?: number): Promise<unknown>;
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * The body reader of a request view: reads `source` once and keeps what it read. A declared
 * `Content-Length` past the limit is refused before a byte is read. A class: one is made for
 * every request an adapter sees, so it holds no closures (and its accessors are `private`, not
 * `#`, which would give every instance a brand slot).
 */
class RequestBody implements SseRequestBody {
  readonly #source: BodySource;
  /** The declared `Content-Length`, or where to read it when the body is read (not per request). */
  readonly #contentLength: string | null | undefined | SseHeaders;
  #read: Promise<Uint8Array> | undefined;

  constructor(source: BodySource, contentLength: string | null | undefined | SseHeaders) {
    this.#source = source;
    this.#contentLength = contentLength;
  }

  private get declared(): number | undefined {
    const given = this.#contentLength;
    const value = typeof given === 'object' && given !== null ? given.get('content-length') : given;
    return value == null ? undefined : Number(value);
  }

  /** What the framework parsed, when it did; `NOT_PARSED` otherwise. */
  private get parsed(): unknown {
    const source = this.#source;
    return typeof source === 'object' && source !== null && 'parsed' in source
      ? source.parsed
      : NOT_PARSED;
  }

  bytes(maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<Uint8Array> {
    const parsed = this.parsed;
    if (parsed !== NOT_PARSED) return Promise.resolve(bytesOfParsed(parsed));
    const declared = this.declared;
    if (declared !== undefined && declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
    this.#read ??= readAll(this.#source as Exclude<BodySource, { parsed: unknown }>, maxBytes);
    return this.#read;
  }

  async text(maxBytes?: number): Promise<string> {
    const parsed = this.parsed;
    if (typeof parsed === 'string') return parsed;
    if (parsed !== NOT_PARSED && !(parsed instanceof Uint8Array))
      return JSON.stringify(parsed) ?? '';
    try {
      return decoder.decode(await this.bytes(maxBytes));
    } catch (error) {
      if (error instanceof SseBodyError) throw error;
      throw new SseBodyError(400, 'The request body is not valid UTF-8 text.', { cause: error });
    }
  }

  async json(maxBytes?: number): Promise<unknown> {
    const parsed = this.parsed;
    if (parsed !== NOT_PARSED && typeof parsed !== 'string' && !(parsed instanceof Uint8Array)) {
      return parsed;
    }
    const body = await this.text(maxBytes);
    if (body.trim() === '') {
      throw new SseBodyError(400, 'The request body is empty; JSON was expected.');
    }
    try {
      return JSON.parse(body);
    } catch (error) {
      throw new SseBodyError(400, 'The request body is not valid JSON.', { cause: error });
    }
  }
}

const NOT_PARSED = Symbol('not parsed');

/** The body reader of a request view over `source` (see {@link SseRequestBody}). */
export function createRequestBody(
  source: BodySource,
  contentLength?: string | null | SseHeaders,
): SseRequestBody {
  return new RequestBody(source, contentLength);
}

/** Reads a body in the form `type` asks for. */
export function readBodyAs(
  body: SseRequestBody,
  type: BodyType,
  maxBytes: number,
): Promise<unknown> {
  if (type === 'json') return body.json(maxBytes);
  if (type === 'text') return body.text(maxBytes);
  return body.bytes(maxBytes);
}

function bytesOfParsed(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return encoder.encode(value);
  return encoder.encode(JSON.stringify(value) ?? '');
}

async function readAll(
  given: Exclude<BodySource, { parsed: unknown }>,
  maxBytes: number,
): Promise<Uint8Array> {
  const source = typeof given === 'function' ? given(maxBytes) : given;
  if (source instanceof Promise) {
    let whole: Uint8Array;
    try {
      whole = await source;
    } catch (error) {
      if (error instanceof SseBodyError) throw error;
      throw new SseBodyError(400, 'The request body could not be read to its end.', {
        cause: error,
      });
    }
    if (whole.byteLength > maxBytes) throw tooLarge(maxBytes);
    return whole;
  }
  if (typeof source !== 'object' || source === null || !(Symbol.asyncIterator in source)) {
    throw new TypeError(
      `a body source must be { parsed }, an async iterable or a function, received ${describeValue(source)}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      const part = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      size += part.byteLength;
      // Stops reading at once (the stream is cancelled): the rest is never buffered.
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(part);
    }
  } catch (error) {
    if (error instanceof SseBodyError) throw error;
    throw new SseBodyError(400, 'The request body could not be read to its end.', { cause: error });
  }
  return concatBytes(chunks, size);
}

/** `chunks` as one array of `size` bytes (the first chunk itself when there is only one). */
export function concatBytes(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}

/** The error of a body past `maxBytes`: a 413. */
export function tooLarge(maxBytes: number): SseBodyError {
  return new SseBodyError(413, `The request body is larger than ${maxBytes} bytes.`);
}
