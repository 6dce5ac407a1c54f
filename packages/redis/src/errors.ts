/**
 * Redis could not be reached, so the store could not publish or replay. Publishing rejects with it
 * at once while Redis is down (`whileDown: 'fail'`, the default) or after waiting `waitMs`.
 *
 * ```ts context=price-channel
 * import { RedisUnavailableError } from '@sse-middleware/redis';
 *
 * // The status a publish endpoint answers.
 * async function publishPrice(value: number): Promise<number> {
 *   try {
 *     await channel.publish('price', { symbol: 'ACME', value });
 *     return 202;
 *   } catch (error) {
 *     if (error instanceof RedisUnavailableError) return 503; // Redis is down: try again later
 *     throw error;
 *   }
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
