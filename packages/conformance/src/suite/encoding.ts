import { expect, it } from 'vitest';
import type { ConformanceHarness } from '../harness.js';
import { MULTIBYTE_TEXT } from '../harness.js';
import { openStream } from '../http-client.js';
import { serve } from './context.js';

export function encodingTests(harness: ConformanceHarness) {
  it('delivers multi-byte UTF-8 intact, also when a character spans TCP chunks', async () => {
    const big = `${MULTIBYTE_TEXT}\n`.repeat(5000);
    const events = [
      { data: MULTIBYTE_TEXT },
      { data: big },
      { data: '😀'.repeat(40_000) },
      { data: 'end' },
    ];
    const server = await serve(harness, { source: () => events });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.ended;
    expect(stream.events.map((e) => e.data)).toEqual(events.map((e) => e.data));
  });

  it('splits data on CR, LF and CRLF so clients get the same text back', async () => {
    const server = await serve(harness, {
      source: () => [{ data: 'a\nb\r\nc\rd' }, { data: '' }, { data: '\n' }, { data: '  leading' }],
    });
    const stream = await openStream(`${server.url}/?stream=true`);
    await stream.ended;
    expect(stream.events.map((e) => e.data)).toEqual(['a\nb\nc\nd', '', '\n', '  leading']);
  });
}
