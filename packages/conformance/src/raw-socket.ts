import { connect, type Socket } from 'node:net';

/** One TCP connection that sends bytes exactly as given: for framing and pipelining cases. */
export interface RawConnection {
  /** Everything received so far, as latin1 (one character per byte). */
  readonly text: string;
  /** Resolves when the connection closes, whoever closes it. */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
  write(data: string): void;
  /** Resolves once `predicate` holds for the received text; rejects after `timeoutMs`, saying what arrived. */
  waitForText(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves `true` once the connection is closed, `false` if it is still open after `timeoutMs`. */
  closesWithin(timeoutMs: number): Promise<boolean>;
  destroy(): void;
}

/** Opens a TCP connection to the host and port of `url`. */
export function rawConnect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(Number(port), hostname);
    let text = '';
    let isClosed = false;
    const listeners = new Set<() => void>();
    const notify = () => {
      for (const listener of listeners) listener();
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      notify();
    });
    // A reset by the server is one way of closing: the tests look at what arrived, not how.
    socket.on('error', () => {});
    const closed = new Promise<void>((done) => {
      socket.once('close', () => {
        isClosed = true;
        notify();
        done();
      });
    });
    const wait = <T>(check: () => T | undefined, timeoutMs: number, onTimeout: () => T | Error) =>
      new Promise<T>((ok, fail) => {
        const attempt = () => {
          const value = check();
          if (value === undefined) return;
          cleanup();
          ok(value);
        };
        const timer = setTimeout(() => {
          cleanup();
          const outcome = onTimeout();
          if (outcome instanceof Error) fail(outcome);
          else ok(outcome);
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(attempt);
        };
        listeners.add(attempt);
        attempt();
      });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        get text() {
          return text;
        },
        get isClosed() {
          return isClosed;
        },
        closed,
        write: (data) => {
          socket.write(data, 'latin1');
        },
        waitForText: (predicate, timeoutMs = 3000) =>
          wait(
            () => (predicate(text) ? text : undefined),
            timeoutMs,
            () =>
              new Error(
                `timed out after ${timeoutMs} ms; received ${JSON.stringify(text.slice(-1000))} (connection ${isClosed ? 'closed' : 'open'})`,
              ),
          ),
        closesWithin: (timeoutMs) =>
          wait(
            () => (isClosed ? true : undefined),
            timeoutMs,
            () => false,
          ),
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}

/** The status codes of every response head in `text`, in order. */
export function statusesIn(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}

/**
 * Whether `text` holds one whole HTTP/1.1 response: its head, then its body to the end by its
 * framing (`Content-Length`, or the chunked terminator). A server may send a stream that has
 * ended before its head went out with a `Content-Length` (Bun does).
 */
export function responseComplete(text: string): boolean {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd < 0) return false;
  const head = text.slice(0, headEnd);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  const body = text.slice(headEnd + 4);
  if (length) return new TextEncoder().encode(body).byteLength >= Number(length[1]);
  return body.endsWith('0\r\n\r\n');
}
