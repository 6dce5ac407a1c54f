/**
 * What an application calls: matchers, wrappers, channels and stores, the encoder, the typed
 * client, the options and the engine's read-only surface. Adapter authors import the rest from
 * `@sse-middleware/core/adapter` and, for Node responses, `@sse-middleware/core/node`.
 * `test/entries.test.ts` lists every name, so a change to this list is deliberate.
 */

export { type BodyType, SseBodyError, type SseRequestBody } from './adapter-kit/body.js';
export { requestTarget, type SseHeaders, type SseRequest } from './adapter-kit/request.js';
export {
  type Authorize,
  type AuthorizeContext,
  type DenyOptions,
  deny,
  type SseDenial,
  type SsePrincipal,
} from './api/authorization.js';
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
} from './api/channel.js';
export {
  createDisconnectBus,
  type DisconnectBus,
  type DisconnectMessage,
} from './api/disconnect-bus.js';
export {
  acceptEventStream,
  allOf,
  anyOf,
  type MethodOptions,
  methodMatch,
  queryTokenMatch,
  type RequestMatcher,
  uriMatch,
  uriPrefixMatch,
  uriSuffixMatch,
} from './api/matchers.js';
export {
  createResumableStreams,
  type ResumableChunk,
  type ResumableProducer,
  type ResumableStreams,
  type ResumableStreamsOptions,
  type ResumeAnswer,
  SseStreamExistsError,
  SseStreamLimitError,
  type StartedStream,
  type StreamOwnership,
} from './api/resumable.js';
export {
  createMemoryResumableStore,
  type MemoryResumableStoreOptions,
  type ResumableEvent,
  type ResumableOutcome,
  type ResumablePage,
  type ResumableStore,
} from './api/resumable-store.js';
export {
  type ChannelMessage,
  createMemoryStore,
  type EventStore,
  type MemoryStoreOptions,
  type ReplayGapReason,
  type ReplayResult,
  type StoredEvent,
} from './api/store.js';
export {
  createMemoryTicketStore,
  createStreamTickets,
  type StreamTickets,
  type StreamTicketsOptions,
  type TicketStore,
} from './api/tickets.js';
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
} from './api/typed-client.js';
export {
  asSseEvent,
  type DelaySpec,
  type ErrorReporter,
  InnerResponseError,
  wrapDelay,
  wrapErrorReport,
  wrapFetchBody,
  wrapSseEvent,
} from './api/wrappers.js';
export type {
  Chunk,
  ChunkGenerator,
  ChunkSource,
  InnerResponse,
  SseAnswer,
  StreamContext,
  StreamFn,
  StreamInit,
} from './engine/chunk.js';
export type { EngineConnections } from './engine/counter.js';
export type { CloseOptions, Preparation, SseEngine } from './engine/engine.js';
export { DEFAULT_SSE_HEADERS } from './engine/headers.js';
export type { CloseReason, EngineStats, RefusalStatus, SseHooks } from './engine/metrics.js';
export {
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_INTERVAL_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_QUEUED_BYTES,
  defaultErrorEvent,
  type SseOptions,
  type SseRouteOptions,
} from './engine/options.js';
export type { SlowConsumerPolicy } from './engine/output.js';
export { REAUTH_EVENT } from './engine/served-stream.js';
export {
  encodeData,
  encodeEvent,
  isSseEvent,
  SseEncodeError,
  type SseEvent,
} from './wire/encoder.js';
