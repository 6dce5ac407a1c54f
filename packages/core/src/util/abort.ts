import { isPromiseLike } from './promise.js';

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

/** What an abort race yields when the stream stopped before the awaited value came. */
export const ABORTED: unique symbol = Symbol('aborted');

/**
 * Awaits values for one stream's sequential loop, giving up as soon as `signal` aborts (a hung
 * promise cannot hold the stream): the race then yields {@link ABORTED}. One abort listener for
 * the stream's lifetime instead of one per awaited chunk (listener churn on an AbortSignal costs
 * more than the write). At most one race may be pending at a time.
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
