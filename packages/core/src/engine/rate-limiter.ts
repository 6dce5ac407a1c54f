/**
 * New streams per key as token buckets: each key holds up to `capacity` tokens, refilled at
 * `refillPerSecond`; a new stream takes one. A reconnect storm from one key empties its bucket and
 * is refused, while every other key keeps its own.
 */
export function createRateLimiter(
  capacity: number,
  refillPerSecond: number,
  now = () => Date.now(),
) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const msPerToken = 1000 / refillPerSecond;
  let takes = 0;

  const level = (bucket: { tokens: number; at: number }, time: number) =>
    Math.min(capacity, bucket.tokens + (time - bucket.at) / msPerToken);

  /** Forgets buckets that have filled up again: a full bucket is the same as none. */
  function sweep(time: number): void {
    for (const [key, bucket] of buckets) {
      if (level(bucket, time) >= capacity) buckets.delete(key);
    }
  }

  return {
    /** `0` when `key` may open a stream now (a token is taken), else the ms until it may. */
    take(key: string): number {
      const time = now();
      takes += 1;
      if (takes % 1024 === 0) sweep(time);
      const bucket = buckets.get(key);
      const tokens = bucket ? level(bucket, time) : capacity;
      if (tokens < 1) return Math.ceil((1 - tokens) * msPerToken);
      buckets.set(key, { tokens: tokens - 1, at: time });
      return 0;
    },
    /** Keys with a bucket that is not full (for tests). */
    get size(): number {
      return buckets.size;
    },
  };
}
