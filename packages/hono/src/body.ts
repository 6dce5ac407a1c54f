import type { BodySource } from '@sse-middleware/core/adapter';
import type { HonoRequest } from 'hono';

const EMPTY: readonly Uint8Array[] = [];

/**
 * The request body, read only when asked for: from Hono's own cache when the app already read it
 * (`await c.req.json()`), else from the request's stream (on @hono/node-server the Web `Request`
 * is built only then). Holds the `HonoRequest`, not the Context.
 */
export function bodyOf(request: HonoRequest): BodySource {
  return () => {
    if (Object.keys(request.bodyCache).length > 0) {
      return request.arrayBuffer().then((buffer) => new Uint8Array(buffer));
    }
    return request.raw.body ?? toAsync(EMPTY);
  };
}

async function* toAsync(chunks: readonly Uint8Array[]) {
  yield* chunks;
}
