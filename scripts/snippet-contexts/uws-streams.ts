// The handler sse() returned.
declare const streams: import('@sse-middleware/uws').UwsSseHandler;
