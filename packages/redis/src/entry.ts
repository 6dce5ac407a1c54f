import type { ChannelMessage, StoredEvent } from '@sse-middleware/core';
import { epochOf, eventId } from './event-id.js';

/** A stream entry as Redis returns it: its id and its flat `[field, value, …]` list. */
export type RawEntry = [id: string, fields: string[]];

/**
 * The fields a published message is stored under. Only `data` is always there; `event` and
 * `topic` are left out when they are undefined, so `message` events stay small. The append script
 * adds the `epoch` field (see event-id.ts).
 */
export function toFields(message: ChannelMessage): string[] {
  const fields = ['data', message.data];
  if (message.event !== undefined) fields.push('event', message.event);
  if (message.topic !== undefined) fields.push('topic', message.topic);
  return fields;
}

/**
 * The message an entry holds, or an error saying why it is not one of ours (an entry another
 * program added to the stream without a `data` field, say).
 */
export function fromFields(entry: RawEntry): ChannelMessage | Error {
  const [id, fields] = entry;
  let data: string | undefined;
  let event: string | undefined;
  let topic: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = fields[i + 1]!;
    if (fields[i] === 'data') data = value;
    else if (fields[i] === 'event') event = value;
    else if (fields[i] === 'topic') topic = value;
  }
  if (data === undefined) {
    return new Error(`stream entry ${id} has no "data" field, so it is not an event: skipped`);
  }
  return { event, data, topic };
}

/**
 * The stored event an entry holds, with its SSE id (`<epoch>.<entry id>`) and encoded with
 * `encode`, or an error saying why it is skipped. The tail and the replay both read entries
 * through here, so every process gives the same ids and skips the same entries.
 */
export function toStoredEvent(
  entry: RawEntry,
  encode: (message: ChannelMessage, id: string) => Uint8Array,
): StoredEvent | Error {
  const message = fromFields(entry);
  if (message instanceof Error) return message;
  const id = eventId(epochOf(entry[1]), entry[0]);
  try {
    return { ...message, id, bytes: encode(message, id) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return new Error(`stream entry ${entry[0]} cannot be sent as an event (${reason}): skipped`, {
      cause: error,
    });
  }
}
