// The app's latest prices.
declare function latestPrices(): Promise<Record<string, number>>;
