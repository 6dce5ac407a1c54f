import { type IncomingHttpHeaders, request } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One plain request; resolves with the whole body. */
export function fetchRaw(
  url: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const decoder = new TextDecoder();
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += decoder.decode(chunk, { stream: true });
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: body + decoder.decode(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A streaming response read over its own socket, decoded incrementally as UTF-8. */
export interface RawStream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Everything received so far. */
  readonly text: string;
  /** Bytes received so far. */
  readonly bytes: number;
  /** Events parsed so far by a spec parser (eventsource-parser). */
  readonly events: readonly EventSourceMessage[];
  /** Resolves when the server ends the response (or the socket closes). */
  readonly ended: Promise<void>;
  readonly isEnded: boolean;
  /** Resolves once `predicate` holds for the received text; rejects after `timeoutMs` saying what arrived. */
  waitForText(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves once at least `count` events have been parsed. */
  waitForEvents(count: number, timeoutMs?: number): Promise<readonly EventSourceMessage[]>;
  /** Stops reading (the socket stays open; TCP backpressure builds up). */
  pause(): void;
  resume(): void;
  /** Drops the connection abruptly, like a closed browser tab. */
  destroy(): void;
}

/** Opens a request and resolves when the status line and headers have arrived. */
export function openStream(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const decoder = new TextDecoder();
        const events: EventSourceMessage[] = [];
        const parser = createParser({ onEvent: (event) => events.push(event) });
        let text = '';
        let bytes = 0;
        let isEnded = false;
        const listeners = new Set<() => void>();
        const notify = () => {
          for (const listener of listeners) listener();
        };
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.byteLength;
          const decoded = decoder.decode(chunk, { stream: true });
          text += decoded;
          parser.feed(decoded);
          notify();
        });
        const ended = new Promise<void>((done) => {
          const finish = () => {
            if (isEnded) return;
            isEnded = true;
            notify();
            done();
          };
          res.on('end', finish);
          res.on('close', finish);
          res.on('error', finish);
        });
        const waitUntil = <T>(
          check: () => T | undefined,
          timeoutMs: number,
          what: () => string,
        ): Promise<T> =>
          new Promise((ok, fail) => {
            const attempt = () => {
              const value = check();
              if (value !== undefined) {
                cleanup();
                ok(value);
              } else if (isEnded) {
                cleanup();
                fail(
                  new Error(
                    `stream ended before ${what()}; received ${JSON.stringify(text.slice(-2000))}`,
                  ),
                );
              }
            };
            const timer = setTimeout(() => {
              cleanup();
              fail(
                new Error(
                  `timed out after ${timeoutMs} ms waiting for ${what()}; received ${JSON.stringify(text.slice(-2000))}`,
                ),
              );
            }, timeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              listeners.delete(attempt);
            };
            listeners.add(attempt);
            attempt();
          });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          get text() {
            return text;
          },
          get bytes() {
            return bytes;
          },
          events,
          ended,
          get isEnded() {
            return isEnded;
          },
          waitForText: (predicate, timeoutMs = 5000) =>
            waitUntil(
              () => (predicate(text) ? text : undefined),
              timeoutMs,
              () => 'the expected text',
            ),
          waitForEvents: (count, timeoutMs = 5000) =>
            waitUntil(
              () => (events.length >= count ? events : undefined),
              timeoutMs,
              () => `${count} events (have ${events.length})`,
            ),
          pause: () => res.pause(),
          resume: () => res.resume(),
          destroy: () => {
            req.destroy();
            res.destroy();
          },
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * The stream's text after the comment line some adapters open an event stream with (uWS sends
 * `:\n` first: it puts the response head on the wire only with the first body byte). For tests that
 * compare the engine's exact output; the suite's lenient-client tests check those first bytes.
 */
export const afterHeadComment = (text: string): string =>
  text.startsWith(':\n') ? text.slice(2) : text;

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` is true, polling every 10 ms; rejects after `timeoutMs` with `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export interface JsonResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  text: string;
}

/** A POST with a body, over its own connection; the answer's JSON parsed when it is JSON. */
export function postBody(
  url: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(Buffer.byteLength(body)),
          ...headers,
        },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
