import type { DisconnectMessage } from '../api/disconnect-bus.js';
import type { CloseOptions, SseEngine } from '../engine/engine.js';

/** What every adapter's `sse()` hands back besides the framework's own shape. */
export interface SseHandle {
  /** The engine behind the handler: `engine.connections.active` counts its open streams. */
  readonly engine: SseEngine;
  /**
   * Graceful shutdown of these streams (see `SseEngine.close`): new ones get a 503, open ones a
   * final event with a `retry:` hint, then they end. Call it before closing the server, which
   * otherwise waits for streams that never end.
   */
  close(options?: CloseOptions): Promise<void>;
  /**
   * Ends the streams of a principal key (see `SseEngine.disconnect`): `event: reauth`, then the
   * end; `refuseFor` ms of 401 to its new streams; every process with `options.disconnects`.
   */
  disconnect(filter: DisconnectMessage): Promise<number>;
}

/** The framework's native handler (a listener, a middleware, a route handler) with its {@link SseHandle}. */
export type SseHandler<Native> = Native & SseHandle;

/** Gives `native` the {@link SseHandle} of `engine`, so every adapter returns the same shape. */
export function attachHandle<F extends object>(native: F, engine: SseEngine): SseHandler<F> {
  const handle: SseHandle = {
    engine,
    close: (options?: CloseOptions) => engine.close(options),
    disconnect: (filter: DisconnectMessage) => engine.disconnect(filter),
  };
  return Object.assign(native, handle);
}
