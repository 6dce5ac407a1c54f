import type { SseRequest } from '../adapter-kit/request.js';

/**
 * Why a stream ended; `expired`: it reached `maxStreamDuration`; `auth-expired`: its principal
 * expired (or a revalidation refused it); `revoked`: `disconnect({ key })` ended it.
 */
export type CloseReason =
  | 'client'
  | 'end'
  | 'error'
  | 'expired'
  | 'auth-expired'
  | 'revoked'
  | 'shutdown'
  | 'slow-consumer';

/**
 * The status of a request answered without a stream: a refused body (400, 413), no or bad
 * credentials (401), an origin, host or principal not allowed (403), a limit (429, 503), a
 * failure (500), an `authorize` past its time limit (503).
 */
export type RefusalStatus = 400 | 401 | 403 | 413 | 429 | 500 | 503;

/**
 * Told of everything that happens to streams, to feed Prometheus, OpenTelemetry or logs.
 * Each hook is optional; one that throws is reported to `onError` and ignored.
 */
export interface SseHooks {
  opened?(req: SseRequest): void;
  closed?(req: SseRequest, reason: CloseReason): void;
  /** A stream refused: 503 (every slot taken, or shutting down), 429 (its key's limit), 500 (`limitPerKey.key` threw). */
  rejected?(req: SseRequest, status: RefusalStatus): void;
  /** Bytes handed to a client's connection. */
  written?(req: SseRequest, bytes: number): void;
  /** A queued chunk dropped for a slow client (`drop-oldest`). */
  dropped?(req: SseRequest, bytes: number): void;
  /** A slow client disconnected (`disconnect`). */
  slowConsumer?(req: SseRequest): void;
}

/** A snapshot of an engine's counters since it was created. */
export interface EngineStats {
  /** Streams open now. */
  open: number;
  opened: number;
  closed: number;
  /** Refused with 503 or 429. */
  rejected: number;
  writtenBytes: number;
  droppedChunks: number;
  droppedBytes: number;
  slowConsumerDisconnects: number;
}

export function createMetrics(hooks: SseHooks, report: (error: unknown, req: SseRequest) => void) {
  const stats: EngineStats = {
    open: 0,
    opened: 0,
    closed: 0,
    rejected: 0,
    writtenBytes: 0,
    droppedChunks: 0,
    droppedBytes: 0,
    slowConsumerDisconnects: 0,
  };
  const call = <A extends unknown[]>(
    hook: ((req: SseRequest, ...args: A) => void) | undefined,
    req: SseRequest,
    ...args: A
  ) => {
    if (!hook) return;
    try {
      hook(req, ...args);
    } catch (error) {
      report(error, req);
    }
  };
  return {
    snapshot: (): EngineStats => ({ ...stats }),
    opened(req: SseRequest) {
      stats.open += 1;
      stats.opened += 1;
      call(hooks.opened, req);
    },
    closed(req: SseRequest, reason: CloseReason) {
      stats.open -= 1;
      stats.closed += 1;
      if (reason === 'slow-consumer') {
        stats.slowConsumerDisconnects += 1;
        call(hooks.slowConsumer, req);
      }
      call(hooks.closed, req, reason);
    },
    rejected(req: SseRequest, status: RefusalStatus) {
      stats.rejected += 1;
      call(hooks.rejected, req, status);
    },
    written(req: SseRequest, bytes: number) {
      stats.writtenBytes += bytes;
      if (hooks.written) call(hooks.written, req, bytes); // the hot path: no call without a hook
    },
    dropped(req: SseRequest, bytes: number) {
      stats.droppedChunks += 1;
      stats.droppedBytes += bytes;
      call(hooks.dropped, req, bytes);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
