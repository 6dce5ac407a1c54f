// The function of the package this example documents.
declare const sse: typeof import('@sse-middleware/koa').sse;
