import type { SseHandler } from '@sse-middleware/core/adapter';

/**
 * A Fetch-API handler: `Bun.serve({ fetch })`, `Deno.serve(handler)`, a Next.js route handler,
 * a Workers-style `export default { fetch }`. `Rest` are what the runtime passes after the
 * request (Bun's server, Deno's connection info, a Worker's `env` and `ctx`).
 */
export type FetchHandler<Rest extends unknown[] = unknown[]> = (
  request: Request,
  ...rest: Rest
) => Response | Promise<Response>;

/** A fetch handler that streams, with the core's `engine`, `close()` and `disconnect()`. */
export type FetchSseHandler<Rest extends unknown[] = unknown[]> = SseHandler<
  (request: Request, ...rest: Rest) => Promise<Response>
>;
