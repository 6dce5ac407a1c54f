// The plugin this example documents.
declare const sse: typeof import('@sse-middleware/fastify').default;
