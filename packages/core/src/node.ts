/**
 * `@sse-middleware/core/node`: the sink over a Node response (node:http `ServerResponse` or
 * node:http2's `Http2ServerResponse`), for adapters on Node servers. Structural types only: it
 * imports nothing from Node either. `test/entries.test.ts` lists every name.
 */

export { type NodeRequestLike, nodeBodySource } from './node/node-body-source.js';
export { createNodeResponseSink, type NodeResponseLike } from './node/node-response-sink.js';
