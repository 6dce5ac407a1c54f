/**
 * The parts of uWebSockets.js that the handler touches, described structurally: the package
 * imports nothing from uWebSockets.js, and the official build, its forks and every v20 typing
 * (`docs/index.d.ts`) fit these shapes.
 */

/** The members of uWebSockets.js's `HttpResponse` that a stream uses. */
export interface UwsHttpResponse {
  onAborted(handler: () => void): unknown;
  /** The request body, chunk by chunk; `chunk` is valid only during the call. */
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): unknown;
  onWritable(handler: (offset: number) => boolean): unknown;
  cork(callback: () => void): unknown;
  writeStatus(status: string): unknown;
  writeHeader(key: string, value: string): unknown;
  write(chunk: Uint8Array): boolean;
  /** How many body bytes were written; throws once the response has ended or been aborted. */
  getWriteOffset(): number;
  /** With `closeConnection`, uWS closes the connection once `body` is sent. */
  end(body?: string, closeConnection?: boolean): unknown;
}

/** The members of uWebSockets.js's `HttpRequest` the handler reads before it returns. */
export interface UwsHttpRequest {
  getMethod(): string;
  getUrl(): string;
  /** `''` or `undefined` without a query, depending on the uWebSockets.js version. */
  getQuery(): string | undefined;
  forEach(callback: (key: string, value: string) => void): void;
  /** A header by lower-case name; `''` when absent. */
  getHeader(lowerCaseKey: string): string;
  setYield(yieldRoute: boolean): unknown;
}
