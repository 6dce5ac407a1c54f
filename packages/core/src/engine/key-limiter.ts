/** Counts streams per key (a client IP, a user id…) and refuses past `max` for one key. */
export function createKeyLimiter(max: number) {
  const counts = new Map<string, number>();
  return {
    /** A release function, or `undefined` when `key` already holds `max` streams. Release is idempotent. */
    tryAcquire(key: string): (() => void) | undefined {
      const count = counts.get(key) ?? 0;
      if (count >= max) return undefined;
      counts.set(key, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(key) ?? 1) - 1;
        if (left === 0) counts.delete(key);
        else counts.set(key, left);
      };
    },
  };
}
