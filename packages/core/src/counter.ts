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
  return createSlotPool(max).counter;
}

/**
 * Internal: a counter, plus a way to take and give back slots without a slot object (closures
 * and a getter, some 400 bytes), for the engine, whose streams each hold a slot while open.
 */
export function createSlotPool(max: number) {
  assertInteger('maxConnections', max);
  const limit = max <= 0 ? Number.POSITIVE_INFINITY : max;
  let active = 0;
  const tryTake = (): boolean => {
    if (active >= limit) return false;
    active += 1;
    return true;
  };
  const giveBack = (): void => {
    active -= 1;
  };
  const counter: ConnectionCounter = {
    tryAcquire() {
      if (!tryTake()) return undefined;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          giveBack();
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
  return { counter, tryTake, giveBack };
}

export type SlotPool = ReturnType<typeof createSlotPool>;
