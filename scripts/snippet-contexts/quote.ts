// The app's quote for a path.
declare function quote(path: string): { symbol: string; value: number };
