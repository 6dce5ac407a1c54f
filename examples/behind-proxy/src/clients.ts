import { request } from 'node:http';
import { connect } from 'node:http2';
import { createGunzip } from 'node:zlib';
import { openStream } from '@sse-middleware/conformance';

/** The part of an SSE event the checks look at. */
export interface ReceivedEvent {
  id?: string | undefined;
  event?: string | undefined;
  data: string;
}

/** A `GET /events` response being read; `RawStream` from the conformance kit is one. */
export interface EventStream {
  readonly status: number;
  /** Everything received so far (decoded: after gunzip for a compressed stream). */
  readonly text: string;
  readonly bytes: number;
  /** The response's Content-Encoding, when the client asked for one. */
  readonly contentEncoding?: string;
  readonly events: readonly ReceivedEvent[];
  readonly ended: Promise<void>;
  readonly isEnded: boolean;
  waitForText(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  waitForEvents(count: number, timeoutMs?: number): Promise<readonly ReceivedEvent[]>;
  destroy(): void;
}

/** How the checks talk to a server: open a stream, publish an event. */
export interface Client {
  /** What it is, for messages: `HTTP/1.1`, `HTTP/1.1 + gzip`, `HTTP/2 (h2c)`. */
  readonly name: string;
  open(url: string, headers?: Record<string, string>): Promise<EventStream>;
  /** `POST /publish` with a text body; resolves with the status and the raw answer. */
  post(url: string, text: string): Promise<{ status: number; body: string }>;
}

/** Plain HTTP/1.1 (the conformance kit's raw client), identity encoding. */
export const http1: Client = {
  name: 'HTTP/1.1',
  open: (url, headers = {}) => openStream(`${url}/events`, { headers }),
  post: (url, text) =>
    new Promise((resolve, reject) => {
      const req = request(
        `${url}/publish`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) },
          agent: false,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(text);
    }),
};

/**
 * HTTP/1.1 with `Accept-Encoding: gzip`, gunzipping a compressed stream as it arrives (so an event
 * counts only once the proxy has flushed its compressor). `requireGzip`: fail unless the stream
 * does come back compressed, so a check cannot pass without compression on the path.
 */
function gzipClient(requireGzip: boolean): Client {
  return {
    name: requireGzip ? 'HTTP/1.1 + gzip' : 'HTTP/1.1, Accept-Encoding: gzip',
    post: http1.post,
    open: (url, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = request(
          `${url}/events`,
          { headers: { ...headers, 'Accept-Encoding': 'gzip' }, agent: false },
          (res) => {
            const encoding = res.headers['content-encoding'] ?? 'identity';
            if (requireGzip && encoding !== 'gzip') {
              req.destroy();
              reject(
                new Error(
                  `GET ${url}/events with Accept-Encoding: gzip came back with Content-Encoding ${encoding}: nothing compressed it`,
                ),
              );
              return;
            }
            const stream = new SseReader(res.statusCode ?? 0, encoding, () => req.destroy());
            res.on('data', (chunk: Buffer) => stream.countBytes(chunk.byteLength));
            if (encoding === 'gzip') {
              const gunzip = createGunzip();
              res.pipe(gunzip);
              gunzip.on('data', (chunk: Buffer) => stream.feed(chunk));
              gunzip.on('error', () => stream.end());
            } else {
              res.on('data', (chunk: Buffer) => stream.feed(chunk));
            }
            res.on('close', () => stream.end());
            resolve(stream);
          },
        );
        req.on('error', reject);
        req.end();
      }),
  };
}

/** Asks for gzip and requires it. */
export const http1Gzip = gzipClient(true);
/** Asks for gzip and takes whatever comes (`contentEncoding` says what did). */
export const http1AcceptGzip = gzipClient(false);

/** HTTP/2 over cleartext with prior knowledge (h2c), one session per stream or publish. */
export const http2Cleartext: Client = {
  name: 'HTTP/2 (h2c)',
  open: (url, headers = {}) =>
    new Promise((resolve, reject) => {
      const session = connect(url);
      session.on('error', reject);
      const req = session.request({ ':path': '/events', ...lowerCase(headers) });
      req.on('error', reject);
      req.on('response', (head) => {
        const encoding = String(head['content-encoding'] ?? 'identity');
        const stream = new SseReader(Number(head[':status'] ?? 0), encoding, () => {
          req.close();
          session.destroy();
        });
        req.on('data', (chunk: Buffer) => {
          stream.countBytes(chunk.byteLength);
          stream.feed(chunk);
        });
        req.on('close', () => {
          stream.end();
          session.close();
        });
        resolve(stream);
      });
      req.end();
    }),
  post: (url, text) =>
    new Promise((resolve, reject) => {
      const session = connect(url);
      session.on('error', reject);
      const req = session.request({
        ':method': 'POST',
        ':path': '/publish',
        'content-type': 'text/plain',
      });
      let status = 0;
      let body = '';
      req.setEncoding('utf8');
      req.on('response', (head) => {
        status = Number(head[':status'] ?? 0);
      });
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        session.close();
        resolve({ status, body });
      });
      req.on('error', reject);
      req.end(text);
    }),
};

const lowerCase = (headers: Record<string, string>) =>
  Object.fromEntries(Object.entries(headers).map(([key, value]) => [key.toLowerCase(), value]));

/** A minimal incremental SSE reader (id, event, data lines; comments ignored) for the clients above. */
class SseReader implements EventStream {
  text = '';
  bytes = 0;
  isEnded = false;
  readonly events: ReceivedEvent[] = [];
  readonly ended: Promise<void>;
  private resolveEnded!: () => void;
  private readonly decoder = new TextDecoder();
  private pending = '';
  private current: ReceivedEvent & { lines: string[] } = fresh();
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly status: number,
    readonly contentEncoding: string,
    private readonly close: () => void,
  ) {
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
  }

  countBytes(count: number) {
    this.bytes += count;
  }

  feed(chunk: Buffer) {
    const text = this.decoder.decode(chunk, { stream: true });
    this.text += text;
    this.pending += text;
    const lines = this.pending.split(/\r\n|\r|\n/);
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.line(line);
    this.notify();
  }

  end() {
    if (this.isEnded) return;
    this.isEnded = true;
    this.resolveEnded();
    this.notify();
  }

  private line(line: string) {
    if (line === '') {
      if (this.current.lines.length > 0) {
        this.events.push({
          id: this.current.id,
          event: this.current.event,
          data: this.current.lines.join('\n'),
        });
      }
      this.current = fresh();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.current.lines.push(value);
    else if (field === 'id') this.current.id = value;
    else if (field === 'event') this.current.event = value;
  }

  private notify() {
    for (const listener of this.listeners) listener();
  }

  private waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (this.isEnded) {
          cleanup();
          reject(
            new Error(
              `stream ended before ${what}; received ${JSON.stringify(this.text.slice(-2000))}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.text.slice(-2000))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(attempt);
      };
      this.listeners.add(attempt);
      attempt();
    });
  }

  waitForText(predicate: (text: string) => boolean, timeoutMs = 5000) {
    return this.waitUntil(
      () => (predicate(this.text) ? this.text : undefined),
      timeoutMs,
      'the expected text',
    );
  }

  waitForEvents(count: number, timeoutMs = 5000) {
    return this.waitUntil(
      () => (this.events.length >= count ? this.events : undefined),
      timeoutMs,
      `${count} events (have ${this.events.length})`,
    );
  }

  destroy() {
    this.close();
    this.end();
  }
}

function fresh(): ReceivedEvent & { lines: string[] } {
  return { id: undefined, event: undefined, data: '', lines: [] };
}
