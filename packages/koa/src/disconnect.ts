import type Koa from 'koa';

/** Socket errors that only mean the client went away. */
const DISCONNECT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT']);

function isDisconnect(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DISCONNECT_CODES.has(code);
}

/**
 * Koa passes a socket error on any response to `ctx.onerror`, whose default handler logs it. A
 * stream ends when its client leaves, abruptly or not (a tab closed with unread data resets the
 * connection), and the engine already handles that; every other error still reaches Koa.
 */
export function ignoreDisconnects(ctx: Pick<Koa.Context, 'onerror'>): void {
  const onerror = ctx.onerror;
  ctx.onerror = (error) => {
    if (!isDisconnect(error)) onerror.call(ctx, error);
  };
}
