import type { Chunk } from '../engine/chunk.js';
import { describeValue } from '../util/validate.js';

/**
 * A structured Server-Sent Event, encoded exactly as the WHATWG HTML specification
 * (§9.2 Server-sent events) parses it.
 */
export interface SseEvent {
  /** The payload. Split on CR, LF and CRLF into `data:` lines; the client gets it back with LF line breaks. */
  data?: string | undefined;
  /** The event type (`event:`). Must not contain CR, LF or NUL. */
  event?: string | undefined;
  /** The event id (`id:`), echoed by the client as `Last-Event-ID`. Must not contain CR, LF or NUL. */
  id?: string | number | undefined;
  /** The reconnection time in milliseconds (`retry:`): a non-negative integer. */
  retry?: number | undefined;
  /** A comment line (`:`), ignored by clients. Must not contain CR or LF. */
  comment?: string | undefined;
}

/** Thrown when an event cannot be encoded without changing its meaning on the wire. Nothing is written. */
export class SseEncodeError extends TypeError {
  override name = 'SseEncodeError';
}

const LINE_BREAK = /\r\n|\r|\n/;
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;
const FORBIDDEN_IN_COMMENT = /[\r\n]/;
const ENCODABLE_KEYS = new Set(['data', 'event', 'id', 'retry', 'comment']);

export function isSseEvent(value: unknown): value is SseEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key of Object.keys(value)) {
    if (!ENCODABLE_KEYS.has(key)) return false;
  }
  return true;
}

/**
 * Encodes one event into one string, ending with the blank line that dispatches it.
 * Throws {@link SseEncodeError} (and returns nothing) when a field would break the framing.
 */
export function encodeEvent(event: SseEvent): string {
  if (typeof event !== 'object' || event === null) {
    throw new SseEncodeError(`An SSE event must be an object, received ${String(event)}`);
  }
  let out = '';
  if (event.comment !== undefined) {
    const comment = event.comment;
    if (typeof comment !== 'string') throw fieldError('comment', 'must be a string', comment);
    if (FORBIDDEN_IN_COMMENT.test(comment))
      throw fieldError('comment', 'must not contain CR or LF', comment);
    out += `:${comment}\n`;
  }
  if (event.event !== undefined) {
    const type = event.event;
    if (typeof type !== 'string') throw fieldError('event', 'must be a string', type);
    if (FORBIDDEN_IN_FIELD.test(type))
      throw fieldError('event', 'must not contain CR, LF or NUL', type);
    out += `event: ${type}\n`;
  }
  if (event.id !== undefined) {
    const id = event.id;
    if (typeof id === 'number') {
      if (!Number.isFinite(id)) throw fieldError('id', 'must be a finite number or a string', id);
      out += `id: ${id}\n`;
    } else {
      if (typeof id !== 'string') throw fieldError('id', 'must be a string or a number', id);
      if (FORBIDDEN_IN_FIELD.test(id)) throw fieldError('id', 'must not contain CR, LF or NUL', id);
      out += id === '' ? 'id\n' : `id: ${id}\n`;
    }
  }
  if (event.retry !== undefined) {
    const retry = event.retry;
    if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
      throw fieldError('retry', 'must be a non-negative integer', retry);
    }
    out += `retry: ${retry}\n`;
  }
  if (event.data !== undefined) {
    if (typeof event.data !== 'string') throw fieldError('data', 'must be a string', event.data);
    out += encodeData(event.data);
  }
  if (out === '') {
    throw new SseEncodeError(
      'An SSE event needs at least one of data, event, id, retry or comment',
    );
  }
  return `${out}\n`;
}

/** `data:` lines for a payload, one per line of the payload, each ending in LF. */
export function encodeData(data: string): string {
  if (!LINE_BREAK.test(data)) return `data: ${data}\n`;
  let out = '';
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

function fieldError(field: string, rule: string, value: unknown): SseEncodeError {
  const shown =
    typeof value === 'string' ? JSON.stringify(value) : `${String(value)} (${typeof value})`;
  return new SseEncodeError(`SSE field "${field}" ${rule}, received ${shown}`);
}

const textEncoder = new TextEncoder();

/** The bytes for one chunk: strings are SSE text plus the `\n` that ends the event; objects are encoded; bytes pass. */
export function encodeChunk(chunk: Exclude<Chunk, null | undefined>): Uint8Array {
  if (typeof chunk === 'string') return textEncoder.encode(`${chunk}\n`);
  if (chunk instanceof Uint8Array) return chunk;
  if (isSseEvent(chunk)) return textEncoder.encode(encodeEvent(chunk));
  throw new TypeError(
    `A chunk must be a string, an SSE event object, a Uint8Array or undefined, received ${describeValue(chunk)}`,
  );
}
