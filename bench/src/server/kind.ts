import type { ServerConfig } from '../protocol.js';

/** What every server kind gets from the harness. */
export interface KindContext {
  readonly config: ServerConfig;
  /** The data of the next event of one polled stream (counts it as produced). */
  pollData(seq: number): string;
}

/** A running server under test, listening on 127.0.0.1. */
export interface KindServer {
  readonly port: number;
  /** Sends one event with this data to every open stream (broadcast mode). */
  broadcast(data: string): void;
  /** Streams open now, as the server counts them. */
  connections(): number;
  /** Library counters worth reporting (our engine's stats, our store's timings). */
  stats?(): Record<string, number>;
  /** Restarts the timings in `stats()`, so that the next sample covers one phase only. */
  resetStats?(): void;
  /** Releases what outlives the streams (a Redis store's connections) before the process exits. */
  close?(): Promise<void>;
}

/**
 * A server kind module (`kinds/<adapter>-<variant>.ts`) exports `start`. Adding a server to the
 * benchmark is one such file plus one line in the registry of `main.ts`.
 */
export type StartKind = (ctx: KindContext) => Promise<KindServer>;

/** The path every server streams on. */
export const SSE_PATH = '/sse';
