import { assertInteger } from '../util/validate.js';

/** One acquired streaming slot. `release()` is idempotent: a slot is never released twice. */
export interface ConnectionSlot {
  release(): void;
  readonly released: boolean;
}

/** An engine's open streams against its limit, read-only: only the engine takes and frees slots. */
export interface EngineConnections {
  /** Slots currently held: the open streams. */
  readonly active: number;
  /** The limit; `Infinity` when unlimited. */
  readonly max: number;
}

export interface ConnectionCounter extends EngineConnections {
  /** A slot, or `undefined` when all `max` slots are taken. */
  tryAcquire(): ConnectionSlot | undefined;
}

/** Counts concurrent streams. `max <= 0` means unlimited, as in the original. Internal. */
export function createConnectionCounter(max: number): ConnectionCounter {
  const pool = createSlotPool(max);
  return {
    tryAcquire() {
      if (!pool.tryTake()) return undefined;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          pool.giveBack();
        },
        get released() {
          return released;
        },
      };
    },
    get active() {
      return pool.view.active;
    },
    get max() {
      return pool.view.max;
    },
  };
}

/**
 * Internal: the engine's slots, taken and given back without a slot object (closures and a
 * getter, some 400 bytes per stream), and a read-only view of them for `engine.connections`.
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
  const view: EngineConnections = Object.freeze({
    get active() {
      return active;
    },
    get max() {
      return limit;
    },
  });
  return { view, tryTake, giveBack };
}

export type SlotPool = ReturnType<typeof createSlotPool>;
