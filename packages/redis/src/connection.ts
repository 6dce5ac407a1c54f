import { Redis, type RedisOptions } from 'ioredis';
import { asError } from './errors.js';

/** How long a first connection may take before it counts as failed (ioredis's `connectTimeout`). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The options of the connections the store opens. Commands never queue while Redis is down and
 * are never resent after a reconnect: the store decides (fail or wait, then resend nothing it
 * cannot prove unsent), so an `XADD` is never silently applied twice. A disconnect destroys the
 * socket at once (`disconnectTimeout: 0`): ioredis would otherwise arm a 2 s timer that nothing
 * clears when the socket was already gone.
 */
const STORE_CONNECTION: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: CONNECT_TIMEOUT_MS,
  disconnectTimeout: 0,
};

/** Reconnection delays: 50 ms, doubling to at most 2 s, plus up to 100 ms of jitter. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt - 1, 10), 2000) + Math.floor(Math.random() * 100);
}

/**
 * Opens a connection named `name` (shown by `CLIENT LIST`): from a URL, reconnecting with
 * {@link reconnectDelay}; or as a `duplicate()` of a client, with that client's retry strategy.
 */
export function openConnection(
  source: { readonly url: string } | { readonly client: Redis },
  name: string,
  extra: RedisOptions = {},
): Redis {
  const options: RedisOptions = { ...STORE_CONNECTION, connectionName: name, ...extra };
  if ('client' in source) return source.client.duplicate(options);
  return new Redis(source.url, { retryStrategy: reconnectDelay, ...options });
}

/** How long closing waits for a socket to go away before giving up on it. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * Closes a connection and resolves once its socket is gone. `gracefully` sends `QUIT`, which lets
 * Redis answer what is in flight first; otherwise the socket is closed at once (what a blocked
 * `XREAD` needs).
 */
export async function closeConnection(connection: Redis, gracefully: boolean): Promise<void> {
  const { status } = connection;
  if (status === 'end') return;
  if (status === 'reconnecting' || status === 'close') {
    // No socket: disconnecting cancels the pending reconnection and no 'end' follows; the next
    // timer turn lets ioredis's zero-delay destroy of the old socket run, so no timer is left.
    connection.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 0));
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onEnd = () => {};
  const ended = new Promise<void>((resolve) => {
    onEnd = resolve;
    connection.once('end', onEnd);
    timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
  });
  if (gracefully && status === 'ready') connection.quit().catch(() => connection.disconnect());
  else connection.disconnect();
  await ended;
  clearTimeout(timer);
  connection.off('end', onEnd);
}

/** Whether a connection can take commands, and why not. */
export interface ConnectionWatch {
  /** The last reason the connection went down; `undefined` while it is up or making its first connection. */
  readonly down: Error | undefined;
  /**
   * Resolves once the connection is ready. Rejects after `timeoutMs`, when the connection ends,
   * or, with `failOnError`, at its next connection error, with the reason.
   */
  ready(timeoutMs: number, failOnError: boolean): Promise<void>;
  /** Stops watching. */
  dispose(): void;
}

/** Watches a connection's events to know whether it is down, and why. */
export function watchConnection(connection: Redis): ConnectionWatch {
  let down: Error | undefined;
  const onReady = () => {
    down = undefined;
  };
  const onError = (error: unknown) => {
    down = asError(error);
  };
  const onClose = () => {
    down ??= new Error('the connection to Redis closed');
  };
  connection.on('ready', onReady);
  connection.on('error', onError);
  connection.on('close', onClose);

  return {
    get down() {
      return down;
    },
    ready(timeoutMs, failOnError) {
      if (connection.status === 'ready') return Promise.resolve();
      if (connection.status === 'end') {
        return Promise.reject(down ?? new Error('the connection to Redis was closed'));
      }
      if (connection.status === 'wait') connection.connect().catch(() => {});
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer);
          connection.off('ready', succeed);
          connection.off('end', ended);
          connection.off('error', failed);
          if (error) reject(error);
          else resolve();
        };
        const succeed = () => settle();
        const ended = () => settle(down ?? new Error('the connection to Redis was closed'));
        const failed = (error: unknown) => settle(asError(error));
        const timer = setTimeout(
          () => settle(down ?? new Error(`no connection to Redis within ${timeoutMs} ms`)),
          timeoutMs,
        );
        connection.on('ready', succeed);
        connection.on('end', ended);
        if (failOnError) connection.on('error', failed);
      });
    },
    dispose() {
      connection.off('ready', onReady);
      connection.off('error', onError);
      connection.off('close', onClose);
    },
  };
}
