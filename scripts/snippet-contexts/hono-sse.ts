// The function this example documents, and Hono.
declare const sse: typeof import('@sse-middleware/hono').sse;
declare const Hono: typeof import('hono').Hono;
