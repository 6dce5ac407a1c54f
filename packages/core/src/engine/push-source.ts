/**
 * The protocol between the engine and a push source (a channel): the engine subscribes the
 * source with the stream as its {@link PushDelivery}, rather than iterating it. Internal: the
 * channel implements it, the served stream drives it.
 */

/** Marks a source as push-based: the engine subscribes it rather than iterating it. */
export const PUSH_SOURCE = Symbol.for('sse-middleware.push-source');

/** How a push source writes to one stream. */
export interface PushDelivery {
  /** Sends encoded bytes without waiting (live fan-out). */
  send(bytes: Uint8Array): void;
  /** Resolves once the client can take more; `undefined` when it can now. Paces replays. */
  whenWritable(): Promise<void> | undefined;
  /** Aborts when the stream ends. */
  readonly signal: AbortSignal;
  /** `signal.aborted`, without creating the signal. */
  readonly aborted: boolean;
  /** The stream's send-queue bound in bytes. */
  readonly maxQueuedBytes: number;
  /** Ends the stream as a slow consumer (it reconnects and replays). */
  overflow(): void;
}

/**
 * Stops a push source's delivery to one stream: the stream calls it with itself, so one object
 * can serve every stream of a source (or a subscriber can be its own).
 */
export interface PushUnsubscribe {
  unsubscribe(delivery: PushDelivery): void;
}

/** What a push source hands the engine for one stream. */
export interface PushSubscription {
  /** Starts delivery; resolves with how to stop it. May replay first. */
  [PUSH_SOURCE](delivery: PushDelivery): Promise<PushUnsubscribe> | PushUnsubscribe;
}

export function isPushSubscription(value: unknown): value is PushSubscription {
  return typeof value === 'object' && value !== null && PUSH_SOURCE in value;
}
