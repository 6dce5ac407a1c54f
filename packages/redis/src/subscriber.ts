import type { Redis } from 'ioredis';
import { closeConnection } from './connection.js';

/** One pub/sub connection shared by every listener of a store (or bus), opened at the first `listen`. */
export interface Subscriber {
  /**
   * Calls `onMessage` with every message on `channel`, and `onSubscribed` each time a `SUBSCRIBE`
   * that includes it is confirmed while it listens: the first one, and the one after every
   * reconnect. Until then messages may be missed, so that is when a listener catches up. Returns
   * how to stop listening; the channel is unsubscribed when its last listener stops.
   */
  listen(
    channel: string,
    onMessage: (message: string) => void,
    onSubscribed?: () => void,
  ): () => void;
  /** Calls `channel`'s listeners here and now, as `message` would (default `''`). */
  deliver(channel: string, message?: string): void;
  /** Closes the connection. Idempotent. */
  close(): Promise<void>;
}

interface Listener {
  readonly onMessage: (message: string) => void;
  readonly onSubscribed: (() => void) | undefined;
}

/**
 * A {@link Subscriber} on connections from `open`, which must not resubscribe on their own
 * (`autoResubscribe: false`): this subscribes again at every `ready`, so it knows when each
 * subscription holds. `owner` names what is closed in the error of a `listen` after `close`.
 */
export function createSubscriber(
  open: () => Redis,
  owner = 'the Redis resumable store',
): Subscriber {
  const channels = new Map<string, Set<Listener>>();
  let connection: Redis | undefined;
  let closing: Promise<void> | undefined;

  const call = (run: () => void) => {
    try {
      run();
    } catch {
      // A listener's failure is its own: the others still run.
    }
  };

  function deliver(channel: string, message = ''): void {
    for (const listener of [...(channels.get(channel) ?? [])]) {
      call(() => listener.onMessage(message));
    }
  }

  function subscribe(names: readonly string[]): void {
    if (names.length === 0 || connection?.status !== 'ready') return;
    const sets = names.map((name) => channels.get(name));
    connection.subscribe(...names).then(
      () => {
        names.forEach((name, i) => {
          const set = sets[i];
          if (!set || channels.get(name) !== set) return;
          for (const listener of [...set]) if (listener.onSubscribed) call(listener.onSubscribed);
        });
      },
      // The connection went down: its next `ready` subscribes again.
      () => {},
    );
  }

  function connect(): void {
    if (connection) return;
    const opened = open();
    // It reconnects on its own; commands on the other connection report an outage.
    opened.on('error', () => {});
    opened.on('ready', () => subscribe([...channels.keys()]));
    opened.on('message', (channel: string, message: string) => deliver(channel, message));
    connection = opened;
  }

  return {
    listen(channel, onMessage, onSubscribed) {
      if (closing) throw new Error(`${owner} is closed`);
      connect();
      const listener: Listener = { onMessage, onSubscribed };
      let set = channels.get(channel);
      if (!set) {
        set = new Set();
        channels.set(channel, set);
        subscribe([channel]);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size > 0 || channels.get(channel) !== set) return;
        channels.delete(channel);
        if (connection?.status === 'ready') connection.unsubscribe(channel).catch(() => {});
      };
    },
    deliver,
    close() {
      closing ??= (async () => {
        channels.clear();
        if (connection) await closeConnection(connection, false);
      })();
      return closing;
    },
  };
}
