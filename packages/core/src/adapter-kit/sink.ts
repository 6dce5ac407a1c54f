/**
 * The one contract every adapter implements: how the engine talks to a server's response.
 * An adapter is the glue between this and its server; all logic lives in the engine.
 */
export interface SseSink {
  /** Aborts when the client disconnects (or the response is otherwise gone). */
  readonly signal: AbortSignal;
  /** Sends the status line and headers at once (before any body). Called once. */
  head(status: number, headers: Readonly<Record<string, string>>): void;
  /**
   * Writes one chunk. Returns a promise when the client's buffer is full; the engine awaits it before
   * writing more. The promise must settle when the buffer drains *or* the client disconnects.
   */
  write(chunk: Uint8Array): undefined | Promise<void>;
  /** Ends the response. Idempotent; also called after a disconnect. */
  close(): void;
}
