/**
 * `@sse-middleware/core/adapter`: what only an adapter (or a store) needs. The engine and its
 * context, the sink contract and its helpers, request views, client presence, the poll helpers of
 * the default generator, the stream-socket marks, and the validators that word every `TypeError`
 * alike. Applications never need it; `test/entries.test.ts` lists every name.
 */
export { abortableDelay } from './abort.js';
export {
  type ClientListener,
  ClientPresence,
  WATCH_CLIENT,
  type WatchableSink,
} from './client-watch.js';
export { createSseEngine } from './engine.js';
export { mergeHeaders } from './headers.js';
export { resolveMatch } from './matchers.js';
export type { EngineContext, InnerHandler } from './options.js';
export { isPoll, markPoll, pollHeaders, withPollSignal } from './poll.js';
export { encodeChunk } from './pumps.js';
export { createRequestView, type HeaderSource, type RequestViewInit } from './request.js';
export type { SseSink } from './sink.js';
export {
  markStreamSocket,
  refusePipelined,
  type StreamSocketLike,
  socketHasStream,
} from './stream-socket.js';
export { assertPlainObject, describeValue, invalid, isPlainObject } from './validate.js';
export { createWebStreamSink, type WebStreamSink } from './web-stream-sink.js';
