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
