/** Resolves after `ms`, or at once when `signal` aborts. Never rejects; leaves no timer behind. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

const ABORTED = Symbol('aborted');

/**
 * Awaits `value`, but gives up as soon as `signal` aborts (a hung promise cannot hold the stream).
 * Returns {@link ABORTED} in that case.
 */
export function raceAbort<T>(
  value: T | PromiseLike<T>,
  signal: AbortSignal,
): Promise<T | typeof ABORTED> {
  if (!isPromiseLike(value)) return Promise.resolve(signal.aborted ? ABORTED : value);
  if (signal.aborted) {
    // The stream is over; a late rejection must not become an unhandled one.
    value.then(undefined, () => {});
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    value.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
raceAbort.ABORTED = ABORTED;

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<T>).then === 'function'
  );
}

type Scheduler = (callback: () => void) => void;
const setImmediateFn = (globalThis as { setImmediate?: Scheduler }).setImmediate;

/** Lets I/O and timers run (a macrotask), so a generator that never waits cannot starve the server. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (setImmediateFn) setImmediateFn(resolve);
    else setTimeout(resolve, 0);
  });
}

/**
 * Decides when a producer loop must let the event loop run: after `chunks` chunks or `ms`
 * milliseconds without a macrotask. Yielding after every chunk would cost a socket write per
 * event; never yielding would starve every other connection.
 */
export function createYieldBudget(chunks = 32, ms = 4) {
  let count = 0;
  let since = Date.now();
  return {
    /** Resolves at once while the budget lasts (`undefined`), or after a macrotask. */
    spend(): Promise<void> | undefined {
      count += 1;
      if (count < chunks && Date.now() - since < ms) return undefined;
      count = 0;
      return yieldToEventLoop().then(() => {
        since = Date.now();
      });
    },
  };
}

/**
 * `raceAbort` for one stream's sequential loop: one abort listener for the stream's lifetime
 * instead of one per awaited chunk (listener churn on an AbortSignal costs more than the write).
 * At most one race may be pending at a time.
 */
export function createAbortRace(signal: AbortSignal) {
  let settle: ((value: typeof ABORTED) => void) | undefined;
  signal.addEventListener('abort', () => settle?.(ABORTED), { once: true });
  return <T>(value: T | PromiseLike<T>): Promise<T | typeof ABORTED> | T | typeof ABORTED => {
    if (!isPromiseLike<T>(value)) return signal.aborted ? ABORTED : value;
    if (signal.aborted) {
      value.then(undefined, () => {});
      return ABORTED;
    }
    return new Promise<T | typeof ABORTED>((resolve, reject) => {
      settle = resolve;
      value.then(
        (v) => {
          settle = undefined;
          resolve(v);
        },
        (e: unknown) => {
          settle = undefined;
          reject(e);
        },
      );
    });
  };
}
