/**
 * The soak's reading of one SSE response on a raw socket, for its sequence check: the framing of
 * client/parser.ts (`SseLineReader`), and of each dispatched event the `id:` (as text, to send
 * back as `Last-Event-ID`), whether it is a `replay-gap`, and the sequence number in its data
 * (`<hrtime ns> <seq> ...`, see server/payload.ts).
 */
import { type HeadEvents, NINE, SPACE, SseLineReader, ZERO } from '../client/parser.js';

const REPLAY_GAP = Buffer.from('event: replay-gap');

export interface SoakEvents extends HeadEvents {
  /** `seq` is 0 for an event whose data carries none (a `replay-gap`). */
  event(id: string | undefined, seq: number, replayGap: boolean): void;
}

const startsWith = (buf: Uint8Array, start: number, end: number, text: string) => {
  if (end - start < text.length) return false;
  for (let i = 0; i < text.length; i += 1) if (buf[start + i] !== text.charCodeAt(i)) return false;
  return true;
};

export class SoakResponseParser extends SseLineReader<SoakEvents> {
  private id: string | undefined;
  private seq = 0;
  private gap = false;
  private fields = false;

  protected line(buf: Buffer, start: number, end: number): void {
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
