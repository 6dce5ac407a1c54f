import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeData,
  encodeEvent,
  isSseEvent,
  SseEncodeError,
  type SseEvent,
} from '../src/index.js';

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
const FUZZ_RUNS = Number(env?.FUZZ_RUNS ?? 2000);

/** Catches what `f` throws (fails the test when it throws nothing). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

function expectRejected(event: unknown, ...messageParts: string[]) {
  const error = thrown(() => encodeEvent(event as SseEvent));
  expect(error).toBeInstanceOf(SseEncodeError);
  expect(error).toBeInstanceOf(TypeError);
  expect(error.name).toBe('SseEncodeError');
  for (const part of messageParts) expect(error.message).toContain(part);
}

describe('encodeEvent: data', () => {
  it.each([
    ['hello', 'data: hello\n\n'],
    ['a\nb', 'data: a\ndata: b\n\n'],
    ['a\rb', 'data: a\ndata: b\n\n'],
    ['a\r\nb', 'data: a\ndata: b\n\n'],
    ['a\n\nb', 'data: a\ndata: \ndata: b\n\n'],
    ['a\r\n', 'data: a\ndata: \n\n'],
    ['a\n', 'data: a\ndata: \n\n'],
    ['\na', 'data: \ndata: a\n\n'],
    ['', 'data: \n\n'],
    ['\n', 'data: \ndata: \n\n'],
    ['\r', 'data: \ndata: \n\n'],
    ['\r\n', 'data: \ndata: \n\n'],
    // CR then CRLF: two line breaks, three lines.
    ['\r\r\n', 'data: \ndata: \ndata: \n\n'],
    // LF then CR: two line breaks (not one CRLF).
    ['a\n\rb', 'data: a\ndata: \ndata: b\n\n'],
    ['  x', 'data:   x\n\n'],
    [' ', 'data:  \n\n'],
    ['a: b', 'data: a: b\n\n'],
    ['héllo 🌍 世界', 'data: héllo 🌍 世界\n\n'],
    ['data: nested', 'data: data: nested\n\n'],
    ['\0', 'data: \0\n\n'],
  ])('%j', (data, expected) => {
    expect(encodeEvent({ data })).toBe(expected);
  });

  it('encodes multi-byte text as UTF-8 (through TextEncoder) unchanged', () => {
    const wire = encodeEvent({ data: '🌍é' });
    expect([...new TextEncoder().encode(wire)]).toEqual([
      ...new TextEncoder().encode('data: '),
      0xf0,
      0x9f,
      0x8c,
      0x8d,
      0xc3,
      0xa9,
      0x0a,
      0x0a,
    ]);
  });
});

describe('encodeEvent: other fields', () => {
  it.each<[SseEvent, string]>([
    [{ event: 'tick' }, 'event: tick\n\n'],
    [{ event: '' }, 'event: \n\n'],
    [{ event: ' spaced ' }, 'event:  spaced \n\n'],
    [{ id: 'abc' }, 'id: abc\n\n'],
    [{ id: 42 }, 'id: 42\n\n'],
    [{ id: 0 }, 'id: 0\n\n'],
    [{ id: -1.5 }, 'id: -1.5\n\n'],
    // An empty id resets the client's last event id: the bare field name does that.
    [{ id: '' }, 'id\n\n'],
    [{ retry: 0 }, 'retry: 0\n\n'],
    [{ retry: 3000 }, 'retry: 3000\n\n'],
    [{ comment: 'ping' }, ':ping\n\n'],
    [{ comment: ' ping' }, ': ping\n\n'],
    [{ comment: '' }, ':\n\n'],
    [{ comment: 'a\0b' }, ':a\0b\n\n'],
  ])('%j', (event, expected) => {
    expect(encodeEvent(event)).toBe(expected);
  });

  it('writes the fields in the order comment, event, id, retry, data', () => {
    const event: SseEvent = { data: 'd\ne', retry: 5, id: 'i', event: 'e', comment: 'c' };
    expect(encodeEvent(event)).toBe(':c\nevent: e\nid: i\nretry: 5\ndata: d\ndata: e\n\n');
  });

  it('ignores fields that are undefined', () => {
    expect(encodeEvent({ data: 'x', id: undefined, event: undefined, retry: undefined })).toBe(
      'data: x\n\n',
    );
  });
});

describe('encodeEvent: rejection', () => {
  it.each(['a\rb', 'a\nb', 'a\r\nb', 'a\0b', '\n', '\r', '\0'])('id %j', (id) => {
    expectRejected({ id }, 'id', JSON.stringify(id));
    expectRejected({ id, data: 'x' }, 'id');
  });

  it.each(['a\rb', 'a\nb', 'a\r\nb', 'a\0b', '\n'])('event %j', (type) => {
    expectRejected({ event: type }, 'event', JSON.stringify(type));
    expectRejected({ event: type, data: 'x' }, 'event');
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1000', null])('retry %p', (retry) => {
    expectRejected({ retry }, 'retry');
  });

  it.each(['a\rb', 'a\nb', '\r\n'])('comment %j', (comment) => {
    expectRejected({ comment }, 'comment', JSON.stringify(comment));
  });

  it.each([5, null, { text: 'x' }, ['x']])('non-string data %p', (data) => {
    expectRejected({ data }, 'data');
  });

  it('rejects non-string, non-number ids and non-finite number ids', () => {
    expectRejected({ id: Number.NaN }, 'id');
    expectRejected({ id: Number.POSITIVE_INFINITY }, 'id');
    expectRejected({ id: { n: 1 } }, 'id');
    expectRejected({ id: true }, 'id');
  });

  it('rejects a non-string event or comment', () => {
    expectRejected({ event: 1 }, 'event');
    expectRejected({ comment: 1 }, 'comment');
  });

  it('rejects an empty object and an object without encodable fields', () => {
    expectRejected({});
    expectRejected({ foo: 'bar' });
    expectRejected({ data: undefined });
  });

  it('rejects a non-object', () => {
    expectRejected(null);
    expectRejected(undefined);
    expectRejected('data: x');
  });

  it('rejects the whole event when a later field is bad', () => {
    expectRejected({ comment: 'ok', event: 'ok', id: 'ok', retry: -1, data: 'ok' }, 'retry');
  });
});

describe('encodeData', () => {
  it('gives one data line per line of the payload', () => {
    expect(encodeData('x')).toBe('data: x\n');
    expect(encodeData('')).toBe('data: \n');
    expect(encodeData('a\r\nb\rc\nd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n');
  });
});

describe('isSseEvent', () => {
  it('accepts objects with only encodable keys', () => {
    expect(isSseEvent({ data: 'x' })).toBe(true);
    expect(isSseEvent({ data: 'x', event: 'e', id: 1, retry: 1, comment: 'c' })).toBe(true);
    expect(isSseEvent({})).toBe(true);
  });

  it('refuses anything else', () => {
    expect(isSseEvent({ data: 'x', foo: 1 })).toBe(false);
    expect(isSseEvent(null)).toBe(false);
    expect(isSseEvent(['data'])).toBe(false);
    expect(isSseEvent('data: x')).toBe(false);
    expect(isSseEvent(5)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Property-based round trip through an independent, spec-following parser.

const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
const FIELD_FORBIDDEN = /[\r\n\0]/;
const fieldChar = anyChar.filter((c) => !FIELD_FORBIDDEN.test(c));

const dataArb = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('\r', '\n', '\r\n', ':', ' ') },
    { weight: 5, arbitrary: anyChar },
  ),
  maxLength: 40,
});
const fieldArb = fc.string({
  unit: fc.oneof(fc.constantFrom(':', ' '), fieldChar),
  maxLength: 20,
});
const commentArb = fc.string({
  unit: fc.oneof(
    fc.constantFrom(':', ' ', '\0'),
    anyChar.filter((c) => !/[\r\n]/.test(c)),
  ),
  maxLength: 20,
});
const idArb = fc.oneof(fieldArb, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
const retryArb = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const eventArb = fc.record(
  {
    data: dataArb,
    event: fieldArb,
    id: idArb,
    retry: retryArb,
    comment: commentArb,
  },
  { requiredKeys: ['data'] },
);

interface Parsed {
  events: EventSourceMessage[];
  retries: number[];
  comments: string[];
}

function parse(wire: string): Parsed {
  const parsed: Parsed = { events: [], retries: [], comments: [] };
  const parser = createParser({
    onEvent: (e) => parsed.events.push(e),
    onRetry: (n) => parsed.retries.push(n),
    onComment: (c) => parsed.comments.push(c),
    onError: (e) => {
      throw e;
    },
  });
  parser.feed(wire);
  return parsed;
}

/** What a client gets back: every CR, LF or CRLF in the payload becomes LF. */
const normaliseBreaks = (data: string) => data.replace(/\r\n|\r|\n/g, '\n');
/** eventsource-parser reports an empty event type (the spec's default `message`) as undefined. */
const expectedType = (type: string | undefined) => (type === '' ? undefined : type);

/** CI runs 100,000 cases (FUZZ_RUNS); give each property room on a loaded machine. */
const FUZZ_TIMEOUT = Math.max(20_000, FUZZ_RUNS * 2);

describe('encodeEvent: round trip (fast-check + eventsource-parser)', {
  timeout: FUZZ_TIMEOUT,
}, () => {
  it('gives back data, event, id and retry exactly', () => {
    fc.assert(
      fc.property(eventArb, (event) => {
        const wire = encodeEvent(event);
        // The encoder never writes a CR: every line break on the wire is an LF.
        expect(wire).not.toContain('\r');
        expect(wire.endsWith('\n\n')).toBe(true);
        const { events, retries, comments } = parse(wire);
        expect(events).toHaveLength(1);
        expect(events[0]).toEqual({
          data: normaliseBreaks(event.data),
          event: expectedType(event.event),
          id: event.id === undefined ? undefined : String(event.id),
        });
        expect(retries).toEqual(event.retry === undefined ? [] : [event.retry]);
        expect(comments).toHaveLength(event.comment === undefined ? 0 : 1);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('gives back a sequence of events in order', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 6 }), (list) => {
        const { events, retries } = parse(list.map(encodeEvent).join(''));
        expect(events.map((e) => e.data)).toEqual(list.map((e) => normaliseBreaks(e.data)));
        expect(events.map((e) => e.event)).toEqual(list.map((e) => expectedType(e.event)));
        expect(events.map((e) => e.id)).toEqual(
          list.map((e) => (e.id === undefined ? undefined : String(e.id))),
        );
        expect(retries).toEqual(list.flatMap((e) => (e.retry === undefined ? [] : [e.retry])));
      }),
      { numRuns: Math.max(1, Math.floor(FUZZ_RUNS / 4)) },
    );
  });

  it('an event without data dispatches nothing but still sets retry', () => {
    fc.assert(
      fc.property(fc.option(fieldArb, { nil: undefined }), retryArb, (type, retry) => {
        const { events, retries } = parse(encodeEvent({ event: type, retry }));
        expect(events).toEqual([]);
        expect(retries).toEqual([retry]);
      }),
      { numRuns: Math.max(1, Math.floor(FUZZ_RUNS / 4)) },
    );
  });
});

describe('encodeEvent: rejection properties', { timeout: FUZZ_TIMEOUT }, () => {
  const withForbidden = (forbidden: string[]) =>
    fc
      .tuple(dataArb, fc.constantFrom(...forbidden), dataArb)
      .map(([before, bad, after]) => before + bad + after);

  it('rejects any id or event containing CR, LF or NUL', () => {
    fc.assert(
      fc.property(withForbidden(['\r', '\n', '\0']), fc.constantFrom('id', 'event'), (s, key) => {
        const error = thrown(() => encodeEvent({ data: 'x', [key]: s }));
        expect(error).toBeInstanceOf(SseEncodeError);
        expect(error.message).toContain(key);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('rejects any comment containing CR or LF', () => {
    fc.assert(
      fc.property(withForbidden(['\r', '\n']), (comment) => {
        expect(thrown(() => encodeEvent({ data: 'x', comment }))).toBeInstanceOf(SseEncodeError);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('accepts any id or event without CR, LF or NUL, and any comment without CR or LF', () => {
    fc.assert(
      fc.property(fieldArb, fieldArb, commentArb, (id, type, comment) => {
        expect(() => encodeEvent({ id, event: type, comment })).not.toThrow();
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
