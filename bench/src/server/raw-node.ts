import type { ServerResponse } from 'node:http';
import type { KindContext } from './kind.js';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
};

/** Answers 503 by hand when a hand-written endpoint is at its limit. */
export function busy(res: ServerResponse): void {
  res.writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '5' });
  res.end('busy');
}

/**
 * The hand-written minimal SSE endpoint on a Node response, the baseline of every Node-based
 * server: writeHead, then one `res.write()` of a string per event. Broadcast loops over a Set; a
 * polled stream has its own setInterval.
 */
export class RawNodeStreams {
  readonly clients = new Set<ServerResponse>();

  constructor(private readonly ctx: KindContext) {}

  open(res: ServerResponse): void {
    const { maxConnections, mode, pollIntervalMs } = this.ctx.config;
    if (maxConnections > 0 && this.clients.size >= maxConnections) {
      busy(res);
      return;
    }
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    this.clients.add(res);
    let timer: NodeJS.Timeout | undefined;
    if (mode === 'poll') {
      let seq = 0;
      timer = setInterval(() => {
        seq += 1;
        res.write(`data: ${this.ctx.pollData(seq)}\n\n`);
      }, pollIntervalMs);
    }
    res.on('close', () => {
      clearInterval(timer);
      this.clients.delete(res);
    });
  }

  broadcast(data: string): void {
    const frame = `data: ${data}\n\n`;
    for (const res of this.clients) res.write(frame);
  }

  /**
   * The floor of one write per stream per event: the event framed as its chunk once, one Buffer
   * for all, written to each socket, past `res.write()`. Only safe here, where nothing else writes.
   */
  broadcastToSockets(data: string): void {
    const chunk = chunkOf(`data: ${data}\n\n`);
    for (const res of this.clients) res.socket?.write(chunk);
  }
}

/** `text` as one HTTP/1.1 chunk (size, CRLF, bytes, CRLF), framed by hand, in one Buffer. */
export function chunkOf(text: string): Buffer {
  const bytes = Buffer.byteLength(text);
  return Buffer.from(`${bytes.toString(16)}\r\n${text}\r\n`);
}
