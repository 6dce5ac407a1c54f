/**
 * Incremental parsers for one SSE response on a raw socket: `SseLineReader` reads the HTTP/1.1
 * head, chunked transfer coding (or a plain body) and splits the event stream into lines; a
 * subclass reads the lines. `SseResponseParser` reads only what the benchmark needs from each
 * dispatched event: the server timestamp and sequence number at the start of its first `data:`
 * line (`<hrtime ns> <seq> ...`, optionally JSON-quoted), without allocating strings. (The soak
 * reads ids and `replay-gap`s too: soak/parser.ts.)
 */

const LF = 10;
const CR = 13;
export const SPACE = 32;
const QUOTE = 34;
const COLON = 58;
export const ZERO = 48;
export const NINE = 57;
const MAX_HEAD = 16 * 1024;

/** Chunked-body states. */
const SIZE = 0;
const SIZE_EXT = 1;
const DATA = 2;
const DATA_END = 3;
const DONE = 4;

export interface HeadEvents {
  /** The response head arrived, with its status code. */
  head(status: number): void;
}

export interface ParserEvents extends HeadEvents {
  /** An event was dispatched; `ts` is the server's hrtime in ns (NaN when absent). */
  event(ts: number, seq: number): void;
}

function isDataField(line: Uint8Array, start: number, end: number): boolean {
  return (
    end - start >= 5 &&
    line[start] === 100 && // d
    line[start + 1] === 97 && // a
    line[start + 2] === 116 && // t
    line[start + 3] === 97 && // a
    line[start + 4] === COLON
  );
}

/** The framing of one response; `line` gets each event-stream line, without its CR LF or a BOM. */
export abstract class SseLineReader<On extends HeadEvents> {
  status = 0;
  private head: Buffer | null = null;
  private chunked = false;
  private state = SIZE;
  private chunkLeft = 0;
  private endLeft = 0;
  /** Bytes of a line that spans reads or chunks. */
  private carry: Buffer | null = null;
  private firstLine = true;

  constructor(protected readonly on: On) {}

  protected abstract line(buf: Buffer, start: number, end: number): void;

  /** Feeds one read from the socket. Returns false once the response is over (or unusable). */
  push(buf: Buffer): boolean {
    let pos = 0;
    if (this.status === 0) {
      const data = this.head ? Buffer.concat([this.head, buf]) : buf;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) {
        if (data.length > MAX_HEAD) return false;
        this.head = data;
        return true;
      }
      this.head = null;
      const headText = data.toString('latin1', 0, end);
      const status = Number.parseInt(headText.slice(9, 12), 10);
      this.status = Number.isFinite(status) && status > 0 ? status : 999;
      this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/i.test(headText);
      this.on.head(this.status);
      if (this.status !== 200) return false;
      buf = data;
      pos = end + 4;
    }
    if (!this.chunked) {
      this.body(buf, pos, buf.length);
      return true;
    }
    while (pos < buf.length) {
      switch (this.state) {
        case SIZE: {
          const c = buf[pos]!;
          pos += 1;
          if (c === LF) {
            if (this.chunkLeft === 0) {
              this.state = DONE;
              return false;
            }
            this.state = DATA;
          } else if (c === CR || c === SPACE) {
            // before the LF
          } else if (c === 59) {
            this.state = SIZE_EXT; // ;extension
          } else {
            const digit = c <= NINE ? c - ZERO : (c | 32) - 87;
            this.chunkLeft = this.chunkLeft * 16 + digit;
          }
          break;
        }
        case SIZE_EXT:
          if (buf[pos] === LF) this.state = this.chunkLeft === 0 ? DONE : DATA;
          pos += 1;
          if (this.state === DONE) return false;
          break;
        case DATA: {
          const end = Math.min(buf.length, pos + this.chunkLeft);
          this.body(buf, pos, end);
          this.chunkLeft -= end - pos;
          pos = end;
          if (this.chunkLeft === 0) {
            this.state = DATA_END;
            this.endLeft = 2;
          }
          break;
        }
        case DATA_END:
          pos += 1;
          this.endLeft -= 1;
          if (this.endLeft === 0) this.state = SIZE;
          break;
        default:
          return false;
      }
    }
    return true;
  }

  /** Event-stream bytes. Lines end in LF (a CR before it is dropped); CR-only endings are not used by any server here. */
  private body(buf: Buffer, start: number, end: number): void {
    let pos = start;
    while (pos < end) {
      const lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf >= end) {
        const rest = buf.subarray(pos, end);
        this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
        return;
      }
      if (this.carry) {
        const line = Buffer.concat([this.carry, buf.subarray(pos, lf)]);
        this.carry = null;
        this.trimmed(line, 0, line.length);
      } else {
        this.trimmed(buf, pos, lf);
      }
      pos = lf + 1;
    }
  }

  private trimmed(buf: Buffer, start: number, end: number): void {
    if (this.firstLine) {
      this.firstLine = false;
      if (buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) start += 3;
    }
    if (end > start && buf[end - 1] === CR) end -= 1;
    this.line(buf, start, end);
  }
}

export class SseResponseParser extends SseLineReader<ParserEvents> {
  private pending = false;
  private pendingTs = Number.NaN;
  private pendingSeq = 0;

  protected line(buf: Uint8Array, start: number, end: number): void {
    if (end === start) {
      if (this.pending) {
        this.pending = false;
        this.on.event(this.pendingTs, this.pendingSeq);
      }
      return;
    }
    if (this.pending || !isDataField(buf, start, end)) return;
    this.pending = true;
    let i = start + 5;
    while (i < end && (buf[i] === SPACE || buf[i] === QUOTE)) i += 1;
    let ts = 0;
    let digits = 0;
    while (i < end && buf[i]! >= ZERO && buf[i]! <= NINE) {
      ts = ts * 10 + (buf[i]! - ZERO);
      i += 1;
      digits += 1;
    }
    i += 1;
    let seq = 0;
    while (i < end && buf[i]! >= ZERO && buf[i]! <= NINE) {
      seq = seq * 10 + (buf[i]! - ZERO);
      i += 1;
    }
    this.pendingTs = digits > 0 ? ts : Number.NaN;
    this.pendingSeq = seq;
  }
}
