/**
 * `@sse-middleware/core/adapter`: what only an adapter (or a store) needs. The engine and its
 * context, the sink contract and its helpers, request views, client presence, the poll helpers of
 * the default generator, the stream-socket marks, and the validators that word every `TypeError`
 * alike. Applications never need it; `test/entries.test.ts` lists every name.
 */

export { type BodySource, createRequestBody } from './adapter-kit/body.js';
export {
  type ClientListener,
  ClientPresence,
  WATCH_CLIENT,
  type WatchableSink,
} from './adapter-kit/client-watch.js';
export { attachHandle, type SseHandle, type SseHandler } from './adapter-kit/handle.js';
export { isPoll, markPoll, pollHeaders, withPollSignal } from './adapter-kit/poll.js';
export {
  createRequestView,
  type HeaderSource,
  type RequestViewInit,
} from './adapter-kit/request.js';
export { requestHeadersToCopy } from './adapter-kit/request-headers.js';
export type { SseSink } from './adapter-kit/sink.js';
export {
  markStreamSocket,
  refusePipelined,
  type StreamSocketLike,
  socketHasStream,
} from './adapter-kit/stream-socket.js';
export {
  type BunServerLike,
  createWebStreamSink,
  isBunServer,
  type WebStreamSink,
  type WebStreamSinkOptions,
} from './adapter-kit/web-stream-sink.js';
export { parseDisconnectMessage } from './api/disconnect-bus.js';
export { resolveMatch } from './api/matchers.js';
export { createSseEngine } from './engine/engine.js';
export { mergeHeaders } from './engine/headers.js';
export type { EngineContext, InnerHandler } from './engine/options.js';
export { abortableDelay } from './util/abort.js';
export { assertPlainObject, describeValue, invalid, isPlainObject } from './util/validate.js';
export { encodeChunk } from './wire/encoder.js';
