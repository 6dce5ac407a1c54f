/**
 * Redis could not be reached, so the store could not publish or replay. Publishing rejects with it
 * at once while Redis is down (`whileDown: 'fail'`, the default) or after waiting `waitMs`.
 *
 * ```ts
 * try {
 *   await channel.publish('price', { symbol: 'ACME', value: 42 });
 * } catch (error) {
 *   if (error instanceof RedisUnavailableError) return reply(503, error.message);
 *   throw error;
 * }
 * ```
 */
export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/** A Redis server's error reply (`WRONGTYPE…`, `ERR…`): Redis was reached and said no. */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === 'ReplyError';
}

/** Any thrown value as an `Error`. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
