/**
 * An incremental parser for one SSE response on a raw socket, for the soak's sequence check: the
 * HTTP/1.1 head, chunked transfer coding (or a plain body), then event-stream lines. Of each
 * dispatched event it reads the `id:` (as text, to send back as `Last-Event-ID`), whether it is a
 * `replay-gap`, and the sequence number in its data (`<hrtime ns> <seq> ...`, see
 * server/payload.ts).
 */

const LF = 10;
const CR = 13;
const SPACE = 32;
const ZERO = 48;
const NINE = 57;
const MAX_HEAD = 16 * 1024;
const REPLAY_GAP = Buffer.from('event: replay-gap');

const SIZE = 0;
const SIZE_EXT = 1;
const DATA = 2;
const DATA_END = 3;

export interface SoakEvents {
  head(status: number): void;
  /** `seq` is 0 for an event whose data carries none (a `replay-gap`). */
  event(id: string | undefined, seq: number, replayGap: boolean): void;
}

const startsWith = (buf: Uint8Array, start: number, end: number, text: string) => {
  if (end - start < text.length) return false;
  for (let i = 0; i < text.length; i += 1) if (buf[start + i] !== text.charCodeAt(i)) return false;
  return true;
};

export class SoakResponseParser {
  status = 0;
  private head: Buffer | null = null;
  private chunked = false;
  private state = SIZE;
  private chunkLeft = 0;
  private endLeft = 0;
  private carry: Buffer | null = null;
  private id: string | undefined;
  private seq = 0;
  private gap = false;
  private fields = false;

  constructor(private readonly on: SoakEvents) {}

  /** Feeds one read. Returns false once the response is over (or unusable). */
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
      const c = buf[pos]!;
      switch (this.state) {
        case SIZE:
          pos += 1;
          if (c === LF) {
            if (this.chunkLeft === 0) return false;
            this.state = DATA;
          } else if (c === 59) this.state = SIZE_EXT;
          else if (c !== CR && c !== SPACE)
            this.chunkLeft = this.chunkLeft * 16 + (c <= NINE ? c - ZERO : (c | 32) - 87);
          break;
        case SIZE_EXT:
          pos += 1;
          if (c === LF) {
            if (this.chunkLeft === 0) return false;
            this.state = DATA;
          }
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
      }
    }
    return true;
  }

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
        this.line(line, 0, line.length);
      } else this.line(buf, pos, lf);
      pos = lf + 1;
    }
  }

  private line(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === CR) end -= 1;
    if (end === start) {
      if (this.fields) this.on.event(this.id, this.seq, this.gap);
      this.fields = false;
      this.seq = 0;
      this.gap = false;
      return;
    }
    if (startsWith(buf, start, end, 'id:')) {
      let i = start + 3;
      if (buf[i] === SPACE) i += 1;
      this.id = buf.toString('latin1', i, end);
      this.fields = true;
    } else if (startsWith(buf, start, end, 'data:')) {
      if (this.seq !== 0 || this.gap) return;
      let i = start + 5;
      while (i < end && buf[i] !== SPACE) i += 1; // skip ` <hrtime>`
      if (i === start + 5) {
        i += 1;
        while (i < end && buf[i] !== SPACE) i += 1;
      }
      i += 1;
      let seq = 0;
      while (i < end && buf[i]! >= ZERO && buf[i]! <= NINE) {
        seq = seq * 10 + (buf[i]! - ZERO);
        i += 1;
      }
      this.seq = seq;
      this.fields = true;
    } else if (end - start === REPLAY_GAP.length && REPLAY_GAP.equals(buf.subarray(start, end))) {
      this.gap = true;
      this.fields = true;
    } else if (startsWith(buf, start, end, 'event:')) {
      this.fields = true;
    }
  }
}
