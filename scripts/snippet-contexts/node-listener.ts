// The listener sseMiddleware() returned, and the server it serves.
declare const listener: import('@sse-middleware/node-http').NodeSseListener<
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse
>;
declare const server: import('node:http').Server;
