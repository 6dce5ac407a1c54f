// The functions the wrappers wrap, and an error reporter.
declare const f: import('@sse-middleware/core').StreamFn<string>;
declare const handler: import('@sse-middleware/core').StreamFn<
  import('@sse-middleware/core').InnerResponse
>;
declare const report: import('@sse-middleware/core').ErrorReporter;
