import uWS from 'uWebSockets.js';
import { rawConnect, statusesIn } from '@sse-middleware/conformance';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  framingProblem,
  guardFraming,
  refuseAmbiguousFraming,
  sse,
  type UwsHttpRequest,
  type UwsHttpResponse,
} from '../src/index.js';
import { listen } from './fixture.js';

const cl = (value: string): [string, string] => ['content-length', value];
const te = (value: string): [string, string] => ['transfer-encoding', value];
const other: [string, string] = ['content-type', 'text/plain'];

describe('framingProblem', () => {
  it.each([
    ['no framing header', []],
    ['one Content-Length', [cl('0')]],
    ['a large Content-Length', [cl('1048576')]],
    ['a Content-Length with spaces around', [cl(' 5\t')]],
    ['Transfer-Encoding: chunked', [te('chunked')]],
    ['Transfer-Encoding: Chunked (case-insensitive)', [te('Chunked')]],
    ['other headers, repeated', [other, other, cl('3')]],
  ] as [string, [string, string][]][])('accepts %s', (_what, headers) => {
    expect(framingProblem(headers)).toBeUndefined();
  });

  it.each([
    ['two different Content-Lengths', [cl('0'), cl('42')], 'more than one Content-Length header'],
    ['the same Content-Length twice', [cl('5'), cl('5')], 'more than one Content-Length header'],
    ['an empty Content-Length', [cl('')], 'a Content-Length that is not a decimal number'],
    ['a list in Content-Length', [cl('5, 5')], 'a Content-Length that is not a decimal number'],
    ['a signed Content-Length', [cl('+5')], 'a Content-Length that is not a decimal number'],
    ['a negative Content-Length', [cl('-1')], 'a Content-Length that is not a decimal number'],
    ['a hexadecimal Content-Length', [cl('0x10')], 'a Content-Length that is not a decimal number'],
    ['an exponent', [cl('1e3')], 'a Content-Length that is not a decimal number'],
    [
      'a Content-Length past 2^53',
      [cl('99999999999999999999')],
      'a Content-Length that is not a decimal number',
    ],
    ['Transfer-Encoding: xchunked', [te('xchunked')], 'a Transfer-Encoding other than chunked'],
    ['Transfer-Encoding: identity', [te('identity')], 'a Transfer-Encoding other than chunked'],
    ['an empty Transfer-Encoding', [te('')], 'a Transfer-Encoding other than chunked'],
    ['chunked, identity', [te('chunked, identity')], 'a Transfer-Encoding other than chunked'],
    ['gzip, chunked', [te('gzip, chunked')], 'a Transfer-Encoding other than chunked'],
    ['chunked, chunked', [te('chunked, chunked')], 'a Transfer-Encoding other than chunked'],
    [
      'two Transfer-Encoding headers',
      [te('chunked'), te('chunked')],
      'more than one Transfer-Encoding header',
    ],
    [
      'Transfer-Encoding with Content-Length',
      [cl('0'), te('chunked')],
      'both Transfer-Encoding and Content-Length',
    ],
    [
      'header names in any case',
      [['Content-Length', '1'], cl('2')],
      'more than one Content-Length header',
    ],
  ] as [string, [string, string][], string][])('refuses %s', (_what, headers, problem) => {
    expect(framingProblem(headers)).toBe(problem);
  });
});

/** A uWS request and response that record what is done with them. */
function fakes(headers: [string, string][]) {
  const calls: unknown[][] = [];
  let abort: (() => void) | undefined;
  const res: UwsHttpResponse = {
    onAborted(handler: () => void) {
      calls.push(['onAborted']);
      abort = handler;
      return res;
    },
    onWritable: () => res,
    onData: () => res,
    cork(callback: () => void) {
      callback();
      return res;
    },
    writeStatus: (status: string) => calls.push(['writeStatus', status]),
    writeHeader: (key: string, value: string) => calls.push(['writeHeader', key, value]),
    write: () => true,
    getWriteOffset: () => 0,
    end: (...args: unknown[]) => calls.push(['end', ...args]),
  };
  const req: UwsHttpRequest = {
    getMethod: () => 'post',
    getUrl: () => '/publish',
    getQuery: () => '',
    forEach(callback: (key: string, value: string) => void) {
      for (const [key, value] of headers) callback(key, value);
    },
    getHeader: (name: string) => headers.find(([key]) => key === name)?.[1] ?? '',
    setYield: () => req,
  };
  return { res, req, calls, abort: () => abort?.() };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('refuseAmbiguousFraming and guardFraming', () => {
  it('leaves the response pending, then answers 400 and closes the connection, saying why', async () => {
    const { res, req, calls } = fakes([other, cl('0'), cl('42')]);
    expect(refuseAmbiguousFraming(res, req)).toBe(true);
    // Pending: uWS closes the connection if another request arrives on it in the meantime.
    expect(calls).toEqual([['onAborted']]);
    await nextTurn();
    expect(calls).toEqual([
      ['onAborted'],
      ['writeStatus', '400 Bad Request'],
      ['writeHeader', 'Content-Type', 'text/plain; charset=utf-8'],
      [
        'end',
        '400 Bad Request.\n\nAmbiguous request framing: more than one Content-Length header.',
        true,
      ],
    ]);
  });

  it('touches the response no more once uWS has aborted it', async () => {
    const { res, req, calls, abort } = fakes([te('xchunked')]);
    expect(refuseAmbiguousFraming(res, req)).toBe(true);
    abort();
    await nextTurn();
    expect(calls).toEqual([['onAborted']]);
  });

  it('does nothing for a request with one way to frame it', async () => {
    for (const headers of [[], [other], [cl('3')], [te('chunked')]]) {
      const { res, req, calls } = fakes(headers);
      expect(refuseAmbiguousFraming(res, req)).toBe(false);
      await nextTurn();
      expect(calls).toEqual([]);
    }
  });

  it('guardFraming runs the handler only for unambiguous requests, with its arguments', () => {
    const seen: unknown[] = [];
    const guarded = guardFraming((res: UwsHttpResponse, req: UwsHttpRequest) => {
      seen.push([res, req]);
    });
    const refused = fakes([te('xchunked')]);
    guarded(refused.res, refused.req);
    expect(seen).toEqual([]);
    const fine = fakes([cl('3')]);
    guarded(fine.res, fine.req);
    expect(seen).toEqual([[fine.res, fine.req]]);
  });
});

describe('on a real uWS server', () => {
  it('never runs a request hidden behind a refused one, in the same packet or the next', async () => {
    const ran: string[] = [];
    const app = uWS
      .App()
      .get('/events', sse({ source: async function* () {} }))
      .any(
        '/*',
        guardFraming((res, req) => {
          ran.push(req.getUrl());
          res.end('ran');
        }),
      );
    const server = await listen(app);
    onTestFinished(() => server.close());
    const hidden = 'GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const target of ['POST /inner', 'GET /events']) {
      const refused = `${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: ${hidden.length}\r\n\r\n`;
      // In the same packet, uWS closes the connection on the hidden request (the refused one is
      // still pending): no answer at all.
      const together = await rawConnect(server.url);
      together.write(refused + hidden);
      expect(await together.closesWithin(3000)).toBe(true);
      expect(statusesIn(together.text).filter((status) => status !== 400)).toEqual([]);
      // Alone, the refused request gets its 400 and the connection is closed.
      const alone = await rawConnect(server.url);
      alone.write(refused);
      expect(await alone.closesWithin(3000)).toBe(true);
      expect(statusesIn(alone.text)).toEqual([400]);
      expect(alone.text.match(/\r\nConnection: close\r\n/gi)).toHaveLength(1);
      expect(alone.text).toMatch(
        /Ambiguous request framing: more than one Content-Length header\.$/,
      );
    }
    expect(ran).toEqual([]);
  });
});
