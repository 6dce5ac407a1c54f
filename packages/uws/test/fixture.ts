import uWS from 'uWebSockets.js';
import { STATUS_CODES } from 'node:http';
import {
  type ConformanceHarness,
  type ConformanceServer,
  type FixtureOptions,
  innerResponse,
  innerSlowResponse,
} from '@sse-middleware/conformance';
import { assertNativeUws, guardFraming, sse, sseRoute, type UwsSseOptions } from '../src/index.js';

// Every test of this package runs on the native addon, or fails here with the reason.
assertNativeUws(uWS);

/** uWebSockets.js v20.30 has `App#close()` (closes every socket), but its typings predate it. */
type ClosableApp = uWS.TemplatedApp & { close?: () => void };

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

/** The conformance inner app's answer; uWS has no error layer, so a throwing route answers 500 here. */
function answer(method: string, path: string, query: string): Answer {
  try {
    return innerResponse(method, path, query);
  } catch {
    return { status: 500, contentType: 'text/plain', body: 'Internal Server Error' };
  }
}

/** The inner app as a uWS route: every method, every path. */
export function innerRoute(res: uWS.HttpResponse, req: uWS.HttpRequest): void {
  // getCaseSensitiveMethod() is lower-cased too once an earlier route has yielded (uWS v20.30).
  const method = req.getMethod().toUpperCase();
  const { status, contentType, body } = answer(method, req.getUrl(), req.getQuery() ?? '');
  res
    .writeStatus(`${status} ${STATUS_CODES[status] ?? ''}`)
    .writeHeader('Content-Type', contentType);
  if (method === 'HEAD') res.endWithoutBody();
  else res.end(body);
}

/** Listens on 127.0.0.1 port 0; `close()` closes the listen socket and every open connection. */
export function listen(app: uWS.TemplatedApp): Promise<ConformanceServer> {
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listenSocket) => {
      if (!listenSocket) {
        reject(new Error('uWS could not listen on 127.0.0.1'));
        return;
      }
      resolve({
        url: `http://127.0.0.1:${uWS.us_socket_local_port(listenSocket)}`,
        close: async () => {
          uWS.us_listen_socket_close(listenSocket);
          const { close } = app as ClosableApp;
          if (typeof close !== 'function') {
            throw new Error('this uWebSockets.js build has no App#close() to end open connections');
          }
          close.call(app);
        },
      });
    });
  });
}

/**
 * Starts the suite's app: the SSE handler on GET, in front of the inner app on every method (uWS
 * prefers a method route to `any` on the same pattern).
 */
export async function serveStreams(
  options: UwsSseOptions,
  endingUpstream?: FixtureOptions['endingUpstream'],
): Promise<ConformanceServer> {
  const streams = sse(options);
  const front = endingUpstream
    ? (res: uWS.HttpResponse, req: uWS.HttpRequest) => {
        endingUpstream(() => res.cork(() => res.end()));
        streams(res, req);
      }
    : streams;
  // uWS runs one handler per request: the inner app refuses ambiguous framing as sse() does.
  const server = await listen(
    uWS.App().get('/*', front).post('/*', front).any('/*', guardFraming(innerRoute)),
  );
  return { ...server, shutdownStreams: streams.close };
}

/** Without a stream option, the default chunk generator polls the same inner logic. */
const pollInner: UwsSseOptions['handler'] = async (req, ctx) => {
  const { status, body } =
    req.path === '/slow'
      ? await innerSlowResponse(
          new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true })),
        )
      : answer(req.method, req.path, req.query);
  return { status, body };
};

export const harness: ConformanceHarness = {
  name: 'uws',
  capabilities: {
    corsPlugin:
      'uWebSockets.js has no CORS plugin ecosystem: uWS apps set CORS headers themselves, which the headers option does for streams (see test/uws.test.ts)',
    failingUpstream:
      'uWebSockets.js has no middleware chain: each request runs one route handler, so nothing can run in front of the SSE handler and throw after it took the request',
    pollHeaders:
      'the default chunk generator calls options.handler with the matching request itself: uWS cannot replay a request through its router, so no request is made and no header forwarded',
    secondMiddleware:
      'the default chunk generator calls options.handler, a plain function: no poll goes back through the routes, so no other SSE handler can see it',
    frameworkAuth:
      'uWebSockets.js has no middleware chain to run auth in front of a route: options.authorize is its auth step (tested above)',
    frameworkBody:
      'uWebSockets.js parses no bodies: a body reaches a handler only through res.onData, which sseRoute() reads itself',
  },
  async startRoute(options) {
    const route = sseRoute(options);
    const server = await listen(
      uWS
        .App()
        .any('/route', route)
        .any('/*', (res) => {
          res.writeStatus('404 Not Found').end();
        }),
    );
    return { ...server, shutdownStreams: route.close };
  },
  async start(options, fixture = {}) {
    if (fixture.cors || fixture.failingUpstream || fixture.secondMiddleware) {
      throw new Error(`the uws harness cannot provide ${JSON.stringify(fixture)}`);
    }
    const polls = options.chunkGenerator == null && options.source == null;
    return serveStreams(
      polls ? { ...options, handler: pollInner } : options,
      fixture.endingUpstream,
    );
  },
};
