import type { Redis } from 'ioredis';
import { CONNECT_TIMEOUT_MS, type ConnectionWatch } from './connection.js';
import { asError, isReplyError, RedisUnavailableError } from './errors.js';

/** How long a command may wait for its answer before it counts as lost. */
export const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Sends one command through `connection` for `operation` (`publish a disconnect on "…"`), never
 * waiting forever: rejects at once with a {@link RedisUnavailableError} while Redis is known to be
 * down, waits up to {@link CONNECT_TIMEOUT_MS} for a first connection, and gives up on an answer
 * after {@link COMMAND_TIMEOUT_MS} (the command may or may not have run then). A reply error
 * (`WRONGTYPE…`) is thrown as it is: Redis was reached and said no.
 */
export async function sendCommand<T>(
  connection: Redis,
  watch: ConnectionWatch,
  operation: string,
  send: () => Promise<T>,
): Promise<T> {
  if (connection.status !== 'ready') {
    const known = watch.down;
    if (known) throw unavailable(operation, `Redis is unreachable (${known.message})`, known);
    try {
      await watch.ready(CONNECT_TIMEOUT_MS, true);
    } catch (error) {
      const cause = asError(error);
      throw unavailable(operation, `Redis is unreachable (${cause.message})`, cause);
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const cause = new Error(`no answer from Redis within ${COMMAND_TIMEOUT_MS} ms`);
      reject(unavailable(operation, `${cause.message}: it may or may not have run`, cause));
    }, COMMAND_TIMEOUT_MS);
  });
  try {
    return await Promise.race([send(), timeout]);
  } catch (error) {
    if (isReplyError(error) || error instanceof RedisUnavailableError) throw error;
    // A command cut short by a lost connection fails with a generic error; the connection knows why.
    const cause = watch.down ?? asError(error);
    throw unavailable(
      operation,
      `the connection to Redis failed before it answered (${cause.message})`,
      cause,
    );
  } finally {
    clearTimeout(timer);
  }
}

function unavailable(operation: string, why: string, cause: Error): RedisUnavailableError {
  return new RedisUnavailableError(`cannot ${operation}: ${why}`, { cause });
}
