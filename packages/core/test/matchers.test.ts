import { describe, expect, it } from 'vitest';
import { createRequestView, resolveMatch } from '../src/adapter.js';
import {
  acceptEventStream,
  allOf,
  anyOf,
  queryTokenMatch,
  type RequestMatcher,
  requestTarget,
  type SseRequest,
  uriMatch,
  uriPrefixMatch,
  uriSuffixMatch,
} from '../src/index.js';

type HeaderRecord = Record<string, string | readonly string[] | undefined>;

function get(url: string, headers: HeaderRecord = {}): SseRequest {
  return createRequestView({ method: 'GET', url, headers });
}

function req(method: string, url: string, headers: HeaderRecord = {}): SseRequest {
  return createRequestView({ method, url, headers });
}

/** The path of the matching request, or `undefined` when the matcher does not match. */
function matchedPath(matcher: RequestMatcher, request: SseRequest): string | undefined {
  return resolveMatch(matcher, request)?.path;
}

describe('createRequestView', () => {
  it('splits a request target into path and query', () => {
    const view = createRequestView({ method: 'get', url: '/a/b?x=1&y=2', headers: {} });
    expect(view.method).toBe('GET');
    expect(view.path).toBe('/a/b');
    expect(view.query).toBe('x=1&y=2');
  });

  it('accepts a full URL and keeps only path and query', () => {
    const view = get('https://example.com:8443/events/live?stream=true#frag');
    expect(view.path).toBe('/events/live');
    expect(view.query).toBe('stream=true');
  });

  it('gives path / for a full URL without a path', () => {
    const view = get('http://example.com');
    expect(view.path).toBe('/');
    expect(view.query).toBe('');
  });

  it('drops the fragment', () => {
    expect(get('/a?b=1#c')).toMatchObject({ path: '/a', query: 'b=1' });
    expect(get('/a#c')).toMatchObject({ path: '/a', query: '' });
    // A `?` after the `#` belongs to the fragment, not to the query.
    expect(get('/a#c?d=1')).toMatchObject({ path: '/a', query: '' });
  });

  it('gives an empty query when there is none', () => {
    expect(get('/a')).toMatchObject({ path: '/a', query: '' });
    expect(get('/a?')).toMatchObject({ path: '/a', query: '' });
  });

  it('gives path / for an empty path', () => {
    expect(get('?x=1')).toMatchObject({ path: '/', query: 'x=1' });
    expect(get('')).toMatchObject({ path: '/', query: '' });
  });

  it('keeps the raw request object', () => {
    const raw = { server: 'object' };
    const view = createRequestView({ method: 'GET', url: '/', headers: {}, raw });
    expect(view.raw).toBe(raw);
  });

  it('reads Node-style header records case-insensitively and joins arrays', () => {
    const view = get('/', {
      accept: 'text/event-stream',
      'x-multi': ['a', 'b', 'c'],
      'x-undefined': undefined,
    });
    expect(view.headers.get('Accept')).toBe('text/event-stream');
    expect(view.headers.get('ACCEPT')).toBe('text/event-stream');
    expect(view.headers.get('x-multi')).toBe('a, b, c');
    expect(view.headers.get('x-undefined')).toBeNull();
    expect(view.headers.get('missing')).toBeNull();
  });

  it('reads Fetch Headers', () => {
    const headers = new Headers({ Accept: 'text/event-stream', 'Last-Event-ID': '42' });
    const view = createRequestView({ method: 'GET', url: '/', headers });
    expect(view.headers.get('accept')).toBe('text/event-stream');
    expect(view.headers.get('last-event-id')).toBe('42');
    expect(view.headers.get('missing')).toBeNull();
  });

  // A regression test: any `://` in the target was once taken for a scheme, even in the query,
  // so the path became whatever followed the next `/` and the query was lost.
  it('keeps path and query when the query contains a URL', () => {
    expect(get('/events?stream=true&next=https://example.com/page')).toMatchObject({
      path: '/events',
      query: 'stream=true&next=https://example.com/page',
    });
  });

  // A regression test: an absolute URL with a query but no path once lost its query.
  it('keeps the query of a full URL without a path', () => {
    expect(get('http://example.com?stream=true')).toMatchObject({
      path: '/',
      query: 'stream=true',
    });
  });
});

describe('requestTarget', () => {
  it('joins path and query', () => {
    expect(requestTarget({ path: '/a', query: '' })).toBe('/a');
    expect(requestTarget({ path: '/a', query: 'x=1' })).toBe('/a?x=1');
    expect(requestTarget(get('/m/n?stream=true'))).toBe('/m/n?stream=true');
  });
});

describe('GET only', () => {
  const cases: Array<[string, RequestMatcher, string]> = [
    ['uriMatch', uriMatch('/s'), '/s'],
    ['uriPrefixMatch', uriPrefixMatch('/s'), '/s/x'],
    ['uriSuffixMatch', uriSuffixMatch('.sse'), '/m.sse'],
    ['queryTokenMatch', queryTokenMatch('stream=true'), '/?stream=true'],
    ['acceptEventStream', acceptEventStream(), '/'],
  ];
  const accept = { accept: 'text/event-stream' };

  it.each(cases)('%s matches GET (method case-insensitive on input)', (_, matcher, url) => {
    expect(resolveMatch(matcher, req('GET', url, accept))).toBeDefined();
    expect(resolveMatch(matcher, req('get', url, accept))).toBeDefined();
  });

  it.each(cases)('%s never matches HEAD, POST, PUT or OPTIONS', (_, matcher, url) => {
    for (const method of ['HEAD', 'POST', 'PUT', 'OPTIONS', 'head', 'post']) {
      expect(resolveMatch(matcher, req(method, url, accept))).toBeUndefined();
    }
  });
});

describe('uriMatch', () => {
  it('matches the exact path and returns the request unchanged', () => {
    const request = get('/score?x=1');
    expect(uriMatch('/score')(request)).toBe(request);
  });

  it('is exact and case-sensitive', () => {
    const matcher = uriMatch('/score');
    expect(matcher(get('/Score'))).toBeUndefined();
    expect(matcher(get('/score/'))).toBeUndefined();
    expect(matcher(get('/scores'))).toBeUndefined();
    expect(matcher(get('/sco'))).toBeUndefined();
  });
});

describe('uriPrefixMatch', () => {
  it('strips the prefix and keeps the rest of the path', () => {
    expect(matchedPath(uriPrefixMatch('/stream'), get('/stream/a/b'))).toBe('/a/b');
  });

  it('gives / for the prefix itself and for prefix plus slash', () => {
    expect(matchedPath(uriPrefixMatch('/stream'), get('/stream'))).toBe('/');
    expect(matchedPath(uriPrefixMatch('/stream'), get('/stream/'))).toBe('/');
  });

  it('respects path-segment boundaries (deliberate fix: the original matched /streamer)', () => {
    expect(matchedPath(uriPrefixMatch('/stream'), get('/streamer'))).toBeUndefined();
    expect(matchedPath(uriPrefixMatch('/stream/'), get('/streamer'))).toBeUndefined();
    expect(matchedPath(uriPrefixMatch('/stream'), get('/strea'))).toBeUndefined();
    expect(matchedPath(uriPrefixMatch('/stream'), get('/other/stream'))).toBeUndefined();
  });

  it('treats a prefix with a trailing slash like one without', () => {
    const matcher = uriPrefixMatch('/stream/');
    expect(matchedPath(matcher, get('/stream'))).toBe('/');
    expect(matchedPath(matcher, get('/stream/'))).toBe('/');
    expect(matchedPath(matcher, get('/stream/a'))).toBe('/a');
  });

  it('keeps the query and headers on the rewritten request', () => {
    const request = get('/stream/a?stream=true', { accept: 'text/event-stream' });
    const matched = resolveMatch(uriPrefixMatch('/stream'), request);
    expect(matched).toMatchObject({ method: 'GET', path: '/a', query: 'stream=true' });
    expect(matched?.headers.get('accept')).toBe('text/event-stream');
    // The input request is not mutated.
    expect(request.path).toBe('/stream/a');
  });

  it('with prefix "" or "/" matches every GET and leaves the path unchanged', () => {
    expect(matchedPath(uriPrefixMatch(''), get('/a/b'))).toBe('/a/b');
    expect(matchedPath(uriPrefixMatch(''), get('/'))).toBe('/');
    expect(matchedPath(uriPrefixMatch('/'), get('/a/b'))).toBe('/a/b');
    expect(matchedPath(uriPrefixMatch('/'), get('/'))).toBe('/');
  });

  it('handles nested prefixes', () => {
    expect(matchedPath(uriPrefixMatch('/api/sse'), get('/api/sse/metrics'))).toBe('/metrics');
    expect(matchedPath(uriPrefixMatch('/api/sse'), get('/api/sset'))).toBeUndefined();
  });
});

describe('uriSuffixMatch', () => {
  it('strips the suffix', () => {
    expect(matchedPath(uriSuffixMatch('.sse'), get('/metrics.sse'))).toBe('/metrics');
    expect(matchedPath(uriSuffixMatch('/events'), get('/a/b/events'))).toBe('/a/b');
  });

  it('gives / when the suffix is the whole path', () => {
    expect(matchedPath(uriSuffixMatch('/metrics.sse'), get('/metrics.sse'))).toBe('/');
    expect(matchedPath(uriSuffixMatch('.sse'), get('/.sse'))).toBe('/');
  });

  it('does not match other paths, and is case-sensitive', () => {
    expect(matchedPath(uriSuffixMatch('.sse'), get('/metrics.ssex'))).toBeUndefined();
    expect(matchedPath(uriSuffixMatch('.sse'), get('/metrics.SSE'))).toBeUndefined();
    expect(matchedPath(uriSuffixMatch('.sse'), get('/metrics'))).toBeUndefined();
  });

  it('ignores the query', () => {
    const matched = resolveMatch(uriSuffixMatch('.sse'), get('/m.sse?a=.sse'));
    expect(matched).toMatchObject({ path: '/m', query: 'a=.sse' });
    expect(resolveMatch(uriSuffixMatch('.sse'), get('/m?a=.sse'))).toBeUndefined();
  });

  it('with suffix "" matches every GET unchanged', () => {
    expect(matchedPath(uriSuffixMatch(''), get('/a/b'))).toBe('/a/b');
  });
});

describe('queryTokenMatch', () => {
  const streamTrue = queryTokenMatch('stream=true');
  const matches = (matcher: RequestMatcher, url: string) =>
    resolveMatch(matcher, get(url)) !== undefined;

  it('matches the parameter with the value and returns the request unchanged', () => {
    const request = get('/?stream=true');
    expect(streamTrue(request)).toBe(request);
    expect(matches(streamTrue, '/x?a=1&stream=true&b=2')).toBe(true);
  });

  it('does not match without a query', () => {
    expect(matches(streamTrue, '/')).toBe(false);
    expect(matches(streamTrue, '/?')).toBe(false);
    expect(matches(queryTokenMatch('stream'), '/stream')).toBe(false);
  });

  it('compares parsed key=value pairs, not substrings (deliberate fix)', () => {
    expect(matches(streamTrue, '/?upstream=true')).toBe(false);
    expect(matches(streamTrue, '/?stream=trueish')).toBe(false);
    expect(matches(streamTrue, '/?a=1&xstream=true2')).toBe(false);
    expect(matches(streamTrue, '/?stream=false')).toBe(false);
    expect(matches(streamTrue, '/?stream=TRUE')).toBe(false);
    expect(matches(streamTrue, '/?STREAM=true')).toBe(false);
    expect(matches(streamTrue, '/?stream%3Dtrue')).toBe(false);
  });

  it('URL-decodes keys and values', () => {
    expect(matches(streamTrue, '/?str%65am=true')).toBe(true);
    expect(matches(streamTrue, '/?stream=tru%65')).toBe(true);
    expect(matches(streamTrue, '/?%73%74%72%65%61%6D=%74%72%75%65')).toBe(true);
    // The token is written in decoded form: `+` and `%20` in the query both mean a space.
    expect(matches(queryTokenMatch('q=a b'), '/?q=a+b')).toBe(true);
    expect(matches(queryTokenMatch('q=a+b'), '/?q=a+b')).toBe(true);
    expect(matches(queryTokenMatch('q=a%20b'), '/?q=a+b')).toBe(true);
    expect(matches(queryTokenMatch('q=a+b'), '/?q=a%2Bb')).toBe(false);
    expect(matches(queryTokenMatch('q=a b'), '/?q=a%20b')).toBe(true);
    expect(matches(queryTokenMatch('tag=c%2B%2B'), '/?tag=c%2B%2B')).toBe(true);
    expect(matches(queryTokenMatch('tag=c++'), '/?tag=c%2B%2B')).toBe(false);
  });

  it('matches when any of several values of a repeated key is equal', () => {
    expect(matches(streamTrue, '/?stream=false&stream=true')).toBe(true);
    expect(matches(streamTrue, '/?stream=true&stream=false')).toBe(true);
    expect(matches(streamTrue, '/?stream=no&stream=false')).toBe(false);
  });

  it('does not match `stream` without a value against `stream=true`', () => {
    expect(matches(streamTrue, '/?stream')).toBe(false);
    expect(matches(streamTrue, '/?stream=')).toBe(false);
  });

  it('with a bare key matches the parameter with any value or none', () => {
    const stream = queryTokenMatch('stream');
    expect(matches(stream, '/?stream')).toBe(true);
    expect(matches(stream, '/?stream=')).toBe(true);
    expect(matches(stream, '/?stream=anything')).toBe(true);
    expect(matches(stream, '/?a=1&stream')).toBe(true);
    expect(matches(stream, '/?upstream')).toBe(false);
    expect(matches(stream, '/?streams=1')).toBe(false);
    expect(matches(stream, '/?x=stream')).toBe(false);
  });

  it('with an empty value matches a present key with an empty value', () => {
    const empty = queryTokenMatch('stream=');
    expect(matches(empty, '/?stream')).toBe(true);
    expect(matches(empty, '/?stream=')).toBe(true);
    expect(matches(empty, '/?stream=true')).toBe(false);
  });

  it('splits the token at the first "="', () => {
    const token = queryTokenMatch('expr=a=b');
    expect(matches(token, '/?expr=a%3Db')).toBe(true);
    expect(matches(token, '/?expr=a=b')).toBe(true);
    expect(matches(token, '/?expr=a')).toBe(false);
  });
});

describe('acceptEventStream', () => {
  const matcher = acceptEventStream();
  const accepts = (accept: string | readonly string[] | undefined) =>
    resolveMatch(matcher, get('/', { accept })) !== undefined;

  it('matches what EventSource sends and returns the request unchanged', () => {
    const request = get('/', { accept: 'text/event-stream' });
    expect(matcher(request)).toBe(request);
  });

  it('does not match without an Accept header, or with other types', () => {
    expect(accepts(undefined)).toBe(false);
    expect(accepts('')).toBe(false);
    expect(accepts('text/html')).toBe(false);
    expect(accepts('text/event-streams')).toBe(false);
    expect(accepts('application/json, text/plain')).toBe(false);
  });

  it('finds text/event-stream among several types', () => {
    expect(accepts('application/json, text/event-stream')).toBe(true);
    expect(accepts('text/html,text/event-stream;q=0.9,*/*;q=0.8')).toBe(true);
    expect(accepts(['application/json', 'text/event-stream'])).toBe(true);
  });

  it('is case-insensitive and tolerates whitespace', () => {
    expect(accepts('TEXT/EVENT-STREAM')).toBe(true);
    expect(accepts('Text/Event-Stream')).toBe(true);
    expect(accepts('  text/event-stream  ')).toBe(true);
  });

  it('accepts parameters other than q=0', () => {
    expect(accepts('text/event-stream;charset=utf-8')).toBe(true);
    expect(accepts('text/event-stream; q=0.5')).toBe(true);
    expect(accepts('text/event-stream;q=0.001')).toBe(true);
    expect(accepts('text/event-stream;q=1')).toBe(true);
  });

  it('refuses text/event-stream with q=0', () => {
    expect(accepts('text/event-stream;q=0')).toBe(false);
    expect(accepts('text/event-stream; q=0')).toBe(false);
    expect(accepts('text/event-stream;Q=0')).toBe(false);
    expect(accepts('text/event-stream;q=0.0')).toBe(false);
    expect(accepts('text/event-stream;q=0.000')).toBe(false);
    expect(accepts('text/event-stream;charset=utf-8;q=0')).toBe(false);
    expect(accepts('application/json, text/event-stream;q=0')).toBe(false);
  });

  it('reads Fetch Headers too', () => {
    const headers = new Headers({ Accept: 'text/event-stream' });
    expect(matcher(createRequestView({ method: 'GET', url: '/', headers }))).toBeDefined();
  });
});

describe('anyOf', () => {
  it('returns the first match', () => {
    const matcher = anyOf(uriPrefixMatch('/a'), uriPrefixMatch('/a/b'));
    expect(matchedPath(matcher, get('/a/b/c'))).toBe('/b/c');
  });

  it('tries the next matcher when one does not match', () => {
    const matcher = anyOf(uriMatch('/x'), uriSuffixMatch('.sse'));
    expect(matchedPath(matcher, get('/m.sse'))).toBe('/m');
    expect(matchedPath(matcher, get('/x'))).toBe('/x');
    expect(matchedPath(matcher, get('/y'))).toBeUndefined();
  });

  it('treats true as a match with the unchanged request and false/null as no match', () => {
    const request = get('/q');
    expect(
      anyOf(
        () => false,
        () => null,
        () => true,
      )(request),
    ).toBe(request);
    expect(
      anyOf(
        () => false,
        () => null,
        () => undefined,
      )(request),
    ).toBeUndefined();
  });

  it('refuses to be built without matchers', () => {
    expect(() => anyOf()).toThrow(TypeError);
    expect(() => anyOf()).toThrow(/anyOf\(\.\.\.matchers\) must be at least one matcher/);
    expect(() => allOf()).toThrow(/allOf\(\.\.\.matchers\) must be at least one matcher/);
  });
});

describe('allOf', () => {
  it('passes the rewritten request to the next matcher', () => {
    const matcher = allOf(uriPrefixMatch('/api'), uriSuffixMatch('.sse'), uriMatch('/metrics'));
    const matched = resolveMatch(matcher, get('/api/metrics.sse?stream=true'));
    expect(matched).toMatchObject({ path: '/metrics', query: 'stream=true' });
  });

  it('fails when the later matcher only matches the original request', () => {
    // After the prefix is stripped the path is `/x`, so uriMatch('/api/x') no longer matches.
    const matcher = allOf(uriPrefixMatch('/api'), uriMatch('/api/x'));
    expect(resolveMatch(matcher, get('/api/x'))).toBeUndefined();
  });

  it('needs every matcher to match', () => {
    const matcher = allOf(queryTokenMatch('stream=true'), acceptEventStream());
    const accept = { accept: 'text/event-stream' };
    expect(resolveMatch(matcher, get('/?stream=true', accept))).toBeDefined();
    expect(resolveMatch(matcher, get('/?stream=true'))).toBeUndefined();
    expect(resolveMatch(matcher, get('/', accept))).toBeUndefined();
  });

  it('keeps the current request when a matcher answers true', () => {
    const matcher = allOf(uriPrefixMatch('/p'), () => true);
    expect(matchedPath(matcher, get('/p/q'))).toBe('/q');
  });

  it('each matcher sees the rewritten request', () => {
    const seen: string[] = [];
    const spy: RequestMatcher = (r) => {
      seen.push(r.path);
      return r;
    };
    allOf(spy, uriPrefixMatch('/a'), spy, uriSuffixMatch('/c'), spy)(get('/a/b/c'));
    expect(seen).toEqual(['/a/b/c', '/b/c', '/b']);
  });
});

describe('resolveMatch', () => {
  const request = get('/r');

  it('normalises a matcher answer', () => {
    expect(resolveMatch(() => true, request)).toBe(request);
    expect(resolveMatch(() => false, request)).toBeUndefined();
    expect(resolveMatch(() => null, request)).toBeUndefined();
    expect(resolveMatch(() => undefined, request)).toBeUndefined();
    const rewritten = { ...request, path: '/other' };
    expect(resolveMatch(() => rewritten, request)).toBe(rewritten);
  });
});

describe('invalid arguments', () => {
  const bad = (f: () => unknown, ...parts: string[]) => {
    let caught: unknown;
    try {
      f();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    for (const part of parts) expect((caught as Error).message).toContain(part);
  };

  it('throw TypeErrors naming the argument and the received value', () => {
    bad(() => uriMatch(5 as never), 'uriMatch(path)', '5 (number)');
    bad(() => uriMatch(undefined as never), 'uriMatch(path)', 'undefined');
    bad(() => uriPrefixMatch(null as never), 'uriPrefixMatch(prefix)', 'null');
    bad(() => uriSuffixMatch(/x/ as never), 'uriSuffixMatch(suffix)', 'RegExp');
    bad(() => queryTokenMatch(1 as never), 'queryTokenMatch(token)', '1 (number)');
    bad(() => queryTokenMatch(''), 'queryTokenMatch(token)', '"" (string)');
    bad(() => anyOf(uriMatch('/'), 'x' as never), 'anyOf(matchers[1])', '"x" (string)');
    bad(() => allOf(null as never), 'allOf(matchers[0])', 'null');
  });
});
