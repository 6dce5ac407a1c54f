import type { SseRequest } from '../adapter-kit/request.js';
import type { SsePrincipal } from '../api/authorization.js';
import type { SseEvent } from '../wire/encoder.js';

/**
 * What a chunk generator produces for one tick:
 * - a structured {@link SseEvent}, encoded spec-exactly;
 * - a string, written as an already-formatted SSE chunk followed by one `\n` (the original's model;
 *   wrap the generator with `wrapSseEvent` to turn plain text into `data:` lines);
 * - a `Uint8Array`: bytes already encoded (by `encodeEvent`, say), written as they are;
 * - `undefined` or `null`: nothing to send this tick.
 */
export type Chunk = string | SseEvent | Uint8Array | null | undefined;

/** Per-connection context handed to every chunk-generator call. */
export interface StreamContext {
  /** Aborts when the client disconnects or the stream ends. */
  readonly signal: AbortSignal;
  /** The client's `Last-Event-ID` header (or `lastEventId` query parameter), if it sent one. */
  readonly lastEventId: string | undefined;
  /** The request body as the `body` option asked for it (read before the stream started), else `undefined`. */
  readonly body?: unknown;
  /** Who the stream is for, as `options.authorize` (or `init.principal`) said. */
  readonly principal?: SsePrincipal | undefined;
}

/** Called once per tick, per connection, with the matching request. May be sync or async. */
export type ChunkGenerator = (req: SseRequest, ctx: StreamContext) => Chunk | Promise<Chunk>;

/** A function with a chunk generator's arguments and any result; what the wrappers compose. */
export type StreamFn<T> = (req: SseRequest, ctx: StreamContext) => T | Promise<T>;

/** A push source: yields chunks until it ends; its iterator's `return()` runs when the client leaves. */
export type ChunkSource = (
  req: SseRequest,
  ctx: StreamContext,
) => AsyncIterable<Chunk> | Iterable<Chunk>;

/**
 * What one route-level stream gets on top of the engine's options: its own source (a function
 * as in `options.source`, or an iterable to stream as it is), the body already read, and its own
 * final event.
 */
export interface StreamInit {
  source?: ChunkSource | AsyncIterable<Chunk> | Iterable<Chunk> | undefined;
  /** The body, already read (by the framework, say): `ctx.body`, and the engine reads nothing. */
  body?: unknown;
  /** Overrides `options.endEvent` for this stream. */
  endEvent?: SseEvent | null | undefined;
  /**
   * Who the stream is for, when the framework's own auth already said so (`request.user`):
   * `options.authorize` is then not asked, and the stream is followed as if it had answered this.
   */
  principal?: SsePrincipal | undefined;
}

/**
 * A response sent instead of a stream: what `options.answer` returns for a request that is not to
 * be streamed (OpenAI's `stream: false`, an invalid request), and what `options.body.refuse` makes
 * of a refused body.
 */
export interface SseAnswer {
  /** Default 200. */
  status?: number | undefined;
  headers?: Readonly<Record<string, string>> | undefined;
  body?: string | Uint8Array | undefined;
}

/** The response of an inner handler, as the default chunk generator reads it. */
export interface InnerResponse {
  status: number;
  body?: string | null | undefined;
}
