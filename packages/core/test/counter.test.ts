import { describe, expect, it } from 'vitest';
import { type ConnectionSlot, createConnectionCounter } from '../src/engine/counter.js';

describe('createConnectionCounter', () => {
  it('with max 2 gives two slots, then undefined', () => {
    const counter = createConnectionCounter(2);
    expect(counter.max).toBe(2);
    expect(counter.active).toBe(0);
    const a = counter.tryAcquire();
    const b = counter.tryAcquire();
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(counter.active).toBe(2);
    expect(counter.tryAcquire()).toBeUndefined();
    expect(counter.tryAcquire()).toBeUndefined();
    expect(counter.active).toBe(2);
  });

  it('frees a slot on release', () => {
    const counter = createConnectionCounter(1);
    const a = counter.tryAcquire()!;
    expect(counter.tryAcquire()).toBeUndefined();
    expect(a.released).toBe(false);
    a.release();
    expect(a.released).toBe(true);
    expect(counter.active).toBe(0);
    const b = counter.tryAcquire();
    expect(b).toBeDefined();
    expect(b?.released).toBe(false);
  });

  it('makes release idempotent: a double release frees only one slot', () => {
    const counter = createConnectionCounter(2);
    const a = counter.tryAcquire()!;
    counter.tryAcquire();
    a.release();
    a.release();
    a.release();
    expect(counter.active).toBe(1);
    expect(counter.tryAcquire()).toBeDefined();
    // Had the extra releases counted, there would be room for one more.
    expect(counter.tryAcquire()).toBeUndefined();
    expect(counter.active).toBe(2);
  });

  it('never goes below zero', () => {
    const counter = createConnectionCounter(3);
    const slot = counter.tryAcquire()!;
    slot.release();
    slot.release();
    expect(counter.active).toBe(0);
    const slots = [counter.tryAcquire(), counter.tryAcquire(), counter.tryAcquire()];
    expect(slots.every((s) => s !== undefined)).toBe(true);
    expect(counter.tryAcquire()).toBeUndefined();
  });

  it.each([0, -1, -100])('with max %i is unlimited', (max) => {
    const counter = createConnectionCounter(max);
    expect(counter.max).toBe(Number.POSITIVE_INFINITY);
    const slots: ConnectionSlot[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      const slot = counter.tryAcquire();
      expect(slot).toBeDefined();
      slots.push(slot!);
    }
    expect(counter.active).toBe(10_000);
    for (const slot of slots) slot.release();
    expect(counter.active).toBe(0);
  });

  it.each([
    [1.5, '1.5 (number)'],
    [Number.NaN, 'NaN (number)'],
    [Number.POSITIVE_INFINITY, 'Infinity (number)'],
    ['2', '"2" (string)'],
    [null, 'null'],
    [undefined, 'undefined'],
  ])('rejects max %p with a TypeError', (max, shown) => {
    let caught: unknown;
    try {
      createConnectionCounter(max as number);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as Error).message).toContain('maxConnections');
    expect((caught as Error).message).toContain(shown);
  });
});
