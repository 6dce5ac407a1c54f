// A core matcher the example uses.
declare const uriMatch: typeof import('@sse-middleware/core').uriMatch;
