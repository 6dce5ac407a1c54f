import type { BodySource } from '@sse-middleware/core/adapter';
import { nodeBodySource } from '@sse-middleware/core/node';
import type Koa from 'koa';

/** `ctx.request.body` when a body parser (`@koa/bodyparser`, `koa-body`) ran in front, else the body still to be read. */
export function bodyOf(ctx: Pick<Koa.Context, 'request' | 'req'>): BodySource {
  const parsed = (ctx.request as { body?: unknown }).body;
  return parsed === undefined ? nodeBodySource(ctx.req) : { parsed };
}
