/** What a load generator's raw socket says to open an SSE stream (client/worker.ts, the soak). */

/** Every server under test listens on loopback. */
export const HOST = '127.0.0.1';

/** The GET head for `path` on `port`; `extraHeaders`: whole header lines, each ending in CR LF. */
export const sseRequestHead = (port: number, path: string, extraHeaders = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n${extraHeaders}\r\n`;
