import type { SseEvent } from '@sse-middleware/core';
import type { KnownDeviations, ReceivedEvent } from './clients/types.js';

/** 64 KiB of four-byte characters behind one ASCII byte, so TCP chunks split characters. */
const BIG = `x${'😀'.repeat(16 * 1024)}`;

/**
 * Events that break naive encoders or parsers, each with what a spec-following client must
 * dispatch for it. The event types used are `message` and `custom`.
 */
export const TRICKY_CORPUS: ReadonlyArray<{
  sent: SseEvent;
  type: string;
  data: string;
  id?: string;
}> = [
  { sent: { data: 'line one\nline two' }, type: 'message', data: 'line one\nline two' },
  { sent: { data: 'cr\rbreak' }, type: 'message', data: 'cr\nbreak' },
  { sent: { data: 'crlf\r\nbreak' }, type: 'message', data: 'crlf\nbreak' },
  { sent: { data: 'blank\n\nline inside' }, type: 'message', data: 'blank\n\nline inside' },
  { sent: { data: '' }, type: 'message', data: '' },
  { sent: { data: '\n' }, type: 'message', data: '\n' },
  { sent: { data: '  two leading spaces' }, type: 'message', data: '  two leading spaces' },
  { sent: { data: ': looks like a comment' }, type: 'message', data: ': looks like a comment' },
  {
    sent: { data: 'data: looks like a field\nevent: not a field' },
    type: 'message',
    data: 'data: looks like a field\nevent: not a field',
  },
  { sent: { data: 'nul\0inside' }, type: 'message', data: 'nul\0inside' },
  {
    sent: { data: 'astral 𝄞 emoji 😀👩‍👩‍👧 ✓ 日本語' },
    type: 'message',
    data: 'astral 𝄞 emoji 😀👩‍👩‍👧 ✓ 日本語',
  },
  { sent: { event: 'custom', data: 'named event' }, type: 'custom', data: 'named event' },
  { sent: { id: '42', data: 'with an id' }, type: 'message', data: 'with an id', id: '42' },
  { sent: { data: 'keeps the last id' }, type: 'message', data: 'keeps the last id' },
  {
    sent: { id: 'ünicode ⚡ id', event: 'custom', data: 'unicode id' },
    type: 'custom',
    data: 'unicode id',
    id: 'ünicode ⚡ id',
  },
  { sent: { retry: 1500, data: 'with a retry' }, type: 'message', data: 'with a retry' },
  { sent: { comment: 'a comment is not an event' }, type: '', data: '' },
  { sent: { data: BIG }, type: 'message', data: BIG },
  { sent: { event: 'custom', data: 'last' }, type: 'custom', data: 'last' },
];

/** What a client with these deviations dispatches for the corpus, in order. */
export function expectedCorpusEvents(deviations: KnownDeviations): ReceivedEvent[] {
  let lastEventId = '';
  const expected: ReceivedEvent[] = [];
  for (const entry of TRICKY_CORPUS) {
    if (entry.type === '') continue;
    if (entry.id !== undefined) lastEventId = entry.id;
    const shown =
      entry.id === undefined && deviations.lastEventIdResetsWithoutId ? '' : lastEventId;
    expected.push({ type: entry.type, data: entry.data, lastEventId: shown });
  }
  return expected;
}
