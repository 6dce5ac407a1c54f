/**
 * `@sse-middleware/fetch`: Server-Sent Events for any `(Request) => Response` handler, on every
 * runtime with the Fetch API and Web streams: Bun, Deno, Node (through `@hono/node-server` or any
 * Fetch bridge), Next.js route handlers, Workers-style `fetch` exports.
 */
export { type FetchSseRoute, sseRoute } from './route.js';
export { sse } from './sse.js';
export type { FetchHandler, FetchSseHandler } from './types.js';
