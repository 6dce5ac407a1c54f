/**
 * The parts of uWebSockets.js that the handler touches, described structurally: the package
 * imports nothing from uWebSockets.js, and the official build, its forks and every v20 typing
 * (`docs/index.d.ts`) fit these shapes.
 */

/** The members of uWebSockets.js's `HttpResponse` that a stream uses. */
export interface UwsHttpResponse {
  onAborted(handler: () => void): unknown;
  onWritable(handler: (offset: number) => boolean): unknown;
  cork(callback: () => void): unknown;
  writeStatus(status: string): unknown;
  writeHeader(key: string, value: string): unknown;
  write(chunk: Uint8Array): boolean;
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
  setYield(yieldRoute: boolean): unknown;
}
