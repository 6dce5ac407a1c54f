export { abortableDelay } from './abort.js';
export type {
  Chunk,
  ChunkGenerator,
  ChunkSource,
  InnerResponse,
  StreamContext,
  StreamFn,
} from './chunk.js';
export { type ConnectionCounter, type ConnectionSlot, createConnectionCounter } from './counter.js';
export { encodeData, encodeEvent, isSseEvent, SseEncodeError, type SseEvent } from './encoder.js';
export {
  type CloseOptions,
  createSseEngine,
  DEFAULT_INTERVAL_MS,
  DEFAULT_MAX_CONNECTIONS,
  defaultErrorEvent,
  type EngineContext,
  encodeChunk,
  type InnerHandler,
  type SseEngine,
  type SseOptions,
} from './engine.js';
export { DEFAULT_SSE_HEADERS, mergeHeaders } from './headers.js';
export {
  acceptEventStream,
  allOf,
  anyOf,
  queryTokenMatch,
  type RequestMatcher,
  resolveMatch,
  uriMatch,
  uriPrefixMatch,
  uriSuffixMatch,
} from './matchers.js';
export { createNodeResponseSink, type NodeResponseLike } from './node-response-sink.js';
export {
  createRequestView,
  type HeaderSource,
  type RequestViewInit,
  requestTarget,
  type SseHeaders,
  type SseRequest,
} from './request.js';
export type { SseSink } from './sink.js';
export { createWebStreamSink, type WebStreamSink } from './web-stream-sink.js';
export {
  asSseEvent,
  type DelaySpec,
  type ErrorReporter,
  InnerResponseError,
  wrapDelay,
  wrapErrorReport,
  wrapFetchBody,
  wrapSseEvent,
} from './wrappers.js';
