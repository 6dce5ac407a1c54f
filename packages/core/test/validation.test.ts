import { describe, expect, it } from 'vitest';
import { createRequestView, createSseEngine, createWebStreamSink } from '../src/adapter.js';
import { createConnectionCounter } from '../src/engine/counter.js';
import {
  acceptEventStream,
  allOf,
  anyOf,
  asSseEvent,
  queryTokenMatch,
  uriMatch,
  uriPrefixMatch,
  uriSuffixMatch,
  wrapDelay,
  wrapErrorReport,
  wrapFetchBody,
  wrapSseEvent,
} from '../src/index.js';
import { createNodeResponseSink } from '../src/node.js';

const f = () => undefined;

/**
 * Every public function, every kind of bad input: each must throw a TypeError whose message names
 * the option (or argument) and shows the value received.
 */
const CASES: Array<[string, () => unknown, RegExp]> = [
  // createSseEngine options
  [
    'options not an object',
    () => createSseEngine('fast' as never),
    /options must be an object, received "fast" \(string\)/,
  ],
  [
    'unknown option',
    () => createSseEngine({ maxConnection: 5 } as never),
    /options\.maxConnection must be one of .*maxConnections/,
  ],
  [
    'requestMatcher not a function',
    () => createSseEngine({ requestMatcher: '/events' as never, chunkGenerator: f }),
    /options\.requestMatcher must be a function, received "\/events" \(string\)/,
  ],
  [
    'chunkGenerator not a function',
    () => createSseEngine({ chunkGenerator: 42 as never }),
    /options\.chunkGenerator must be a function, received 42 \(number\)/,
  ],
  [
    'source not a function',
    () => createSseEngine({ source: [] as never }),
    /options\.source must be a function, received an array/,
  ],
  [
    'chunkGenerator and source',
    () => createSseEngine({ chunkGenerator: f, source: () => [] }),
    /options\.source must be absent when options\.chunkGenerator is given/,
  ],
  [
    'no generator and no inner handler',
    () => createSseEngine({}),
    /options\.chunkGenerator must be a function \(this adapter has no inner handler to poll\), received undefined/,
  ],
  [
    'maxConnections a string',
    () => createSseEngine({ chunkGenerator: f, maxConnections: '10' as never }),
    /options\.maxConnections must be an integer, received "10" \(string\)/,
  ],
  [
    'maxConnections fractional',
    () => createSseEngine({ chunkGenerator: f, maxConnections: 1.5 }),
    /options\.maxConnections must be an integer, received 1\.5 \(number\)/,
  ],
  [
    'retryAfter negative',
    () => createSseEngine({ chunkGenerator: f, retryAfter: -1 }),
    /options\.retryAfter must be a finite number >= 0, received -1 \(number\)/,
  ],
  [
    'retryAfter fractional',
    () => createSseEngine({ chunkGenerator: f, retryAfter: 0.5 }),
    /options\.retryAfter must be a whole number of seconds, received 0\.5 \(number\)/,
  ],
  [
    'onError not a function',
    () => createSseEngine({ chunkGenerator: f, onError: 'log' as never }),
    /options\.onError must be a function, received "log" \(string\)/,
  ],
  [
    'errorEvent not a function',
    () => createSseEngine({ chunkGenerator: f, errorEvent: {} as never }),
    /options\.errorEvent must be a function, received \{\} \(Object\)/,
  ],
  [
    'headers not an object',
    () => createSseEngine({ chunkGenerator: f, headers: 'x' as never }),
    /options\.headers must be an object, received "x" \(string\)/,
  ],
  [
    'header value with CR/LF',
    () => createSseEngine({ chunkGenerator: f, headers: { 'X-A': 'a\r\nSet-Cookie: x' } }),
    /options\.headers\["X-A"\] must be a header value without CR, LF or NUL, received "a\\r\\nSet-Cookie: x" \(string\)/,
  ],
  [
    'header value not a string',
    () => createSseEngine({ chunkGenerator: f, headers: { 'X-A': 5 as never } }),
    /options\.headers\["X-A"\] must be a string or null, received 5 \(number\)/,
  ],
  [
    'header name invalid',
    () => createSseEngine({ chunkGenerator: f, headers: { 'X A': 'b' } }),
    /options\.headers key must be a valid header name, received "X A" \(string\)/,
  ],
  [
    'connection-specific header',
    () => createSseEngine({ chunkGenerator: f, headers: { Connection: 'keep-alive' } }),
    /options\.headers\["Connection"\] must be absent: connection-specific headers break HTTP\/2/,
  ],
  [
    'emptyResponse not an object',
    () => createSseEngine({ chunkGenerator: f, emptyResponse: 200 as never }),
    /options\.emptyResponse must be an object, received 200 \(number\)/,
  ],
  [
    'emptyResponse status out of range',
    () => createSseEngine({ chunkGenerator: f, emptyResponse: { status: 99, headers: {} } }),
    /options\.emptyResponse\.status must be an HTTP status from 200 to 599, received 99 \(number\)/,
  ],
  [
    'emptyResponse header with LF',
    () => createSseEngine({ chunkGenerator: f, emptyResponse: { headers: { 'X-B': 'a\nb' } } }),
    /options\.emptyResponse\.headers\["X-B"\] must be a header value without CR, LF or NUL/,
  ],
  // matchers
  [
    'uriMatch path',
    () => uriMatch(5 as never),
    /uriMatch\(path\) must be a string, received 5 \(number\)/,
  ],
  [
    'uriPrefixMatch prefix',
    () => uriPrefixMatch(null as never),
    /uriPrefixMatch\(prefix\) must be a string, received null/,
  ],
  [
    'uriSuffixMatch suffix',
    () => uriSuffixMatch({} as never),
    /uriSuffixMatch\(suffix\) must be a string, received \{\} \(Object\)/,
  ],
  [
    'queryTokenMatch empty',
    () => queryTokenMatch(''),
    /queryTokenMatch\(token\) must be a non-empty "key" or "key=value", received "" \(string\)/,
  ],
  [
    'anyOf a non-function',
    () => anyOf(uriMatch('/a'), 'b' as never),
    /anyOf\(matchers\[1\]\) must be a function, received "b" \(string\)/,
  ],
  ['allOf nothing', () => allOf(), /allOf\(\.\.\.matchers\) must be at least one matcher/],
  // wrappers
  [
    'wrapDelay negative interval',
    () => wrapDelay(f, -5),
    /wrapDelay\(delay\) must be a finite number >= 0, received -5 \(number\)/,
  ],
  [
    'wrapDelay NaN initial',
    () => wrapDelay(f, { initial: Number.NaN }),
    /wrapDelay\(delay\)\.initial must be a finite number >= 0, received NaN \(number\)/,
  ],
  [
    'wrapDelay short pair',
    () => wrapDelay(f, [1] as never),
    /wrapDelay\(delay\) must be a pair \[initial, interval\], received an array of length 1/,
  ],
  [
    'wrapDelay string',
    () => wrapDelay(f, '1000' as never),
    /wrapDelay\(delay\) must be a number, \{initial, interval\} or \[initial, interval\], received "1000" \(string\)/,
  ],
  [
    'wrapDelay f',
    () => wrapDelay('f' as never, 10),
    /wrapDelay\(f\) must be a function, received "f" \(string\)/,
  ],
  [
    'wrapSseEvent f',
    () => wrapSseEvent(undefined as never),
    /wrapSseEvent\(f\) must be a function, received undefined/,
  ],
  [
    'wrapFetchBody handler',
    () => wrapFetchBody(1 as never),
    /wrapFetchBody\(handler\) must be a function, received 1 \(number\)/,
  ],
  [
    'wrapErrorReport report',
    () => wrapErrorReport(f, 'console' as never),
    /wrapErrorReport\(report\) must be a function, received "console" \(string\)/,
  ],
  [
    'asSseEvent text',
    () => asSseEvent(7 as never),
    /asSseEvent\(text\) must be a string, received 7 \(number\)/,
  ],
  // building blocks
  [
    'counter max',
    () => createConnectionCounter(Number.POSITIVE_INFINITY),
    /maxConnections must be an integer, received Infinity \(number\)/,
  ],
  [
    'request view method',
    () => createRequestView({ method: 1 as never, url: '/', headers: {} }),
    /createRequestView\(init\)\.method must be a string, received 1 \(number\)/,
  ],
  [
    'request view url',
    () => createRequestView({ method: 'GET', url: undefined as never, headers: {} }),
    /createRequestView\(init\)\.url must be a string, received undefined/,
  ],
  [
    'request view headers',
    () => createRequestView({ method: 'GET', url: '/', headers: null as never }),
    /createRequestView\(init\)\.headers must be a Headers object or a header record, received null/,
  ],
  [
    'web sink signal',
    () => createWebStreamSink('abort' as never),
    /createWebStreamSink\(requestSignal\) must be an AbortSignal or undefined, received "abort" \(string\)/,
  ],
  [
    'web sink high-water mark',
    () => createWebStreamSink(undefined, 0),
    /createWebStreamSink\(highWaterMark\) must be a positive integer of bytes, received 0 \(number\)/,
  ],
  [
    'node sink response',
    () => createNodeResponseSink({} as never),
    /createNodeResponseSink\(res\) must be a Node ServerResponse or Http2ServerResponse, received \{\} \(Object\)/,
  ],
];

describe('bad input to every public function', () => {
  it.each(CASES)('%s: a TypeError naming it and the value', (_name, call, message) => {
    let thrown: unknown;
    try {
      call();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as TypeError).message).toMatch(message);
  });

  it('accepts the matcher for EventSource requests without arguments', () => {
    expect(typeof acceptEventStream()).toBe('function');
  });
});
