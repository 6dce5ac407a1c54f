import { describe, expect, it } from 'vitest';
import { createSlotPool } from '../src/engine/counter.js';
import { createKeyLimiter } from '../src/engine/key-limiter.js';
import { StreamLease } from '../src/engine/lease.js';

describe('StreamLease', () => {
  it('gives back the slot and the per-key count together, once', () => {
    const slots = createSlotPool(2);
    const keys = createKeyLimiter(1);
    expect(slots.tryTake()).toBe(true);
    const releaseKey = keys.tryAcquire('a');
    expect(releaseKey).toBeTypeOf('function');
    const lease = new StreamLease(slots, releaseKey);
    expect(slots.view.active).toBe(1);
    expect(keys.tryAcquire('a')).toBeUndefined();

    lease.release();
    expect(slots.view.active).toBe(0);
    lease.release();
    expect(slots.view.active).toBe(0); // not -1: released exactly once
    const again = keys.tryAcquire('a');
    expect(again).toBeTypeOf('function');
    expect(keys.tryAcquire('a')).toBeUndefined(); // the first release freed one count, not two
  });

  it('holds a slot alone when there is no per-key limit', () => {
    const slots = createSlotPool(1);
    expect(slots.tryTake()).toBe(true);
    const lease = new StreamLease(slots, undefined);
    expect(slots.tryTake()).toBe(false);
    lease.release();
    lease.release();
    expect(slots.view.active).toBe(0);
    expect(slots.tryTake()).toBe(true);
  });
});
