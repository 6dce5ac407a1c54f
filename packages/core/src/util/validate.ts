/** Renders a received value for an error message: `"ten" (string)`, `-1 (number)`, `null`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'function') return `a function`;
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (typeof value === 'object') {
    if (Array.isArray(value)) return `an array of length ${value.length}`;
    const name = (value as object).constructor?.name;
    try {
      return `${JSON.stringify(value)} (${name ?? 'object'})`;
    } catch {
      return `a ${name ?? 'object'}`;
    }
  }
  return `${String(value)} (${typeof value})`;
}

/** The `TypeError` for an option or argument: `name must be expected, received value`. */
export function invalid(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`${name} must be ${expected}, received ${describeValue(value)}`);
}

export function assertFunction<T>(
  name: string,
  value: T,
): asserts value is T & ((...args: never[]) => unknown) {
  if (typeof value !== 'function') throw invalid(name, 'a function', value);
}

export function assertNonNegativeNumber(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(name, 'a finite number >= 0', value);
  }
}

export function assertInteger(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalid(name, 'an integer', value);
  }
}

export function assertString(name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw invalid(name, 'a string', value);
}

/** An object that is neither `null` nor an array: what an options bag may be. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function assertPlainObject<T>(
  name: string,
  value: T,
): asserts value is T & Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(name, 'an object', value);
}

/** The longest delay a timer takes (2^31 - 1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `value` as a timer's delay: a positive integer of ms, at most {@link MAX_TIMER_MS}. */
export function assertTimerMs(name: string, value: unknown): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > MAX_TIMER_MS) {
    throw invalid(name, `a positive integer of ms, at most ${MAX_TIMER_MS}`, value);
  }
}
