/**
 * Requests whose framing two HTTP parsers can read differently, each hiding a second request in
 * what one of them takes as the body: behind a proxy that frames otherwise, the hidden request is
 * smuggled. A server must refuse them (400, or close the connection) and never run the hidden one.
 */
export interface AmbiguousFraming {
  /** The capability a server needs to refuse it, when not every server does. */
  readonly capability?: 'refusesRepeatedContentLength';
  /** What is ambiguous, for test titles. */
  name: string;
  /**
   * The bytes to send: a request with this framing (`requestLine` without the version, e.g.
   * `POST /publish`), then `hidden` where a body would be.
   */
  bytes(requestLine: string, hidden: string): string;
}

/** `POST <path>` with a text body, framed by one Content-Length: what the hidden request is. */
export function plainPost(path: string, body: string, contentType = 'text/plain'): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const head = (requestLine: string, framing: string) =>
  `${requestLine} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n${framing}\r\n`;

export const AMBIGUOUS_FRAMINGS: readonly AmbiguousFraming[] = [
  {
    name: 'two different Content-Length values',
    bytes: (outer, hidden) =>
      `${head(outer, `Content-Length: 0\r\nContent-Length: ${hidden.length}\r\n`)}${hidden}`,
  },
  {
    name: 'the same Content-Length twice',
    capability: 'refusesRepeatedContentLength',
    bytes: (outer, hidden) =>
      `${head(outer, 'Content-Length: 0\r\nContent-Length: 0\r\n')}${hidden}`,
  },
  {
    name: 'Transfer-Encoding: xchunked',
    bytes: (outer, hidden) => `${head(outer, 'Transfer-Encoding: xchunked\r\n')}0\r\n\r\n${hidden}`,
  },
  {
    name: 'Transfer-Encoding: chunked, identity',
    bytes: (outer, hidden) =>
      `${head(outer, 'Transfer-Encoding: chunked, identity\r\n')}0\r\n\r\n${hidden}`,
  },
  {
    name: 'Transfer-Encoding: chunked with a Content-Length',
    bytes: (outer, hidden) =>
      `${head(outer, `Content-Length: ${5 + hidden.length}\r\nTransfer-Encoding: chunked\r\n`)}0\r\n\r\n${hidden}`,
  },
];
