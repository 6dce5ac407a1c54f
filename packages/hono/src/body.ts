import type { BodySource } from '@sse-middleware/core/adapter';
import type { Context } from 'hono';

const EMPTY: readonly Uint8Array[] = [];

/**
 * The request body, read only when asked for: from Hono's own cache when the app already read it
 * (`await c.req.json()`), else from the request's stream (on @hono/node-server the Web `Request`
 * is built only then).
 */
export function bodyOf(c: Context): BodySource {
  return () => {
    if (Object.keys(c.req.bodyCache).length > 0) {
      return c.req.arrayBuffer().then((buffer) => new Uint8Array(buffer));
    }
    return c.req.raw.body ?? toAsync(EMPTY);
  };
}

async function* toAsync(chunks: readonly Uint8Array[]) {
  yield* chunks;
}
