// A channel of prices.
declare const channel: import('@sse-middleware/core').Channel<{
  price: { symbol: string; value: number };
}>;
