import { assertInteger } from './validate.js';

/** One acquired streaming slot. `release()` is idempotent: a slot is never released twice. */
export interface ConnectionSlot {
  release(): void;
  readonly released: boolean;
}

export interface ConnectionCounter {
  /** A slot, or `undefined` when all `max` slots are taken. */
  tryAcquire(): ConnectionSlot | undefined;
  /** Slots currently held. */
  readonly active: number;
  /** The limit; `Infinity` when unlimited. */
  readonly max: number;
}

/** Counts concurrent streams. `max <= 0` means unlimited, as in the original. */
export function createConnectionCounter(max: number): ConnectionCounter {
  assertInteger('maxConnections', max);
  const limit = max <= 0 ? Number.POSITIVE_INFINITY : max;
  let active = 0;
  return {
    tryAcquire() {
      if (active >= limit) return undefined;
      active += 1;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          active -= 1;
        },
        get released() {
          return released;
        },
      };
    },
    get active() {
      return active;
    },
    get max() {
      return limit;
    },
  };
}
