// The app's notifications of one user, until the signal aborts.
declare function notificationsOf(
  userId: string | string[] | undefined,
  signal: AbortSignal,
): AsyncIterable<import('@sse-middleware/core').SseEvent>;
