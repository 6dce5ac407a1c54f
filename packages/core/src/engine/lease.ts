import type { SlotPool } from './counter.js';

/**
 * What admission hands a stream: its slot and, under `limitPerKey`, its per-key count. Taken in
 * `engine.serve`, released once by the stream when it stops; a second `release()` does nothing.
 */
export class StreamLease {
  readonly #slots: SlotPool;
  #releaseKey: (() => void) | undefined;
  #held = true;

  constructor(slots: SlotPool, releaseKey: (() => void) | undefined) {
    this.#slots = slots;
    this.#releaseKey = releaseKey;
  }

  /** Gives the slot back and the per-key count with it. Idempotent. */
  release(): void {
    if (!this.#held) return;
    this.#held = false;
    this.#slots.giveBack();
    const releaseKey = this.#releaseKey;
    this.#releaseKey = undefined;
    releaseKey?.();
  }
}
