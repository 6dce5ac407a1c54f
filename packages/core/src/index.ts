export { abortableDelay } from './abort.js';
export {
  type Channel,
  type ChannelEvent,
  type ChannelOptions,
  type ChannelStats,
  CONTROL_EVENTS,
  createChannel,
  type EventMap,
  MAX_ECHOED_ID_LENGTH,
  type PublishOptions,
  REPLAY_GAP_EVENT,
  type ReplayGap,
  SseReservedEventError,
  SseSerializeError,
  type SubscribeOptions,
} from './channel.js';
export type {
  Chunk,
  ChunkGenerator,
  ChunkSource,
  InnerResponse,
  StreamContext,
  StreamFn,
} from './chunk.js';
export {
  type ClientListener,
  ClientPresence,
  WATCH_CLIENT,
  type WatchableSink,
} from './client-watch.js';
export { type ConnectionCounter, type ConnectionSlot, createConnectionCounter } from './counter.js';
export { encodeData, encodeEvent, isSseEvent, SseEncodeError, type SseEvent } from './encoder.js';
export { type CloseOptions, createSseEngine, type SseEngine } from './engine.js';
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
export type { CloseReason, EngineStats, SseHooks } from './metrics.js';
export { createNodeResponseSink, type NodeResponseLike } from './node-response-sink.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_QUEUED_BYTES,
  defaultErrorEvent,
  type EngineContext,
  type InnerHandler,
  type SseOptions,
} from './options.js';
export type { SlowConsumerPolicy } from './output.js';
export { isPoll, markPoll, pollHeaders, withPollSignal } from './poll.js';
export { encodeChunk } from './pumps.js';
export {
  createRequestView,
  type HeaderSource,
  type RequestViewInit,
  requestTarget,
  type SseHeaders,
  type SseRequest,
} from './request.js';
export type { SseSink } from './sink.js';
export {
  type ChannelMessage,
  createMemoryStore,
  type EventStore,
  type MemoryStoreOptions,
  type ReplayGapReason,
  type ReplayResult,
  type StoredEvent,
} from './store.js';
export {
  markStreamSocket,
  refusePipelined,
  type StreamSocketLike,
  socketHasStream,
} from './stream-socket.js';
export {
  type ChannelEvents,
  type ConnectionErrorEvent,
  type ControlEvents,
  type EventSourceLike,
  type JsonText,
  type OpenEvent,
  type ReplayGapEvent,
  type ServerErrorEvent,
  type ShutdownEvent,
  type SseListenerOptions,
  type SseMessageEvent,
  type TypedEventSource,
  typedEventSource,
} from './typed-client.js';
export { describeValue } from './validate.js';
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
