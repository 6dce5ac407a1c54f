import {
  type ConformanceHarness,
  type FixtureOptions,
  fixtureUser,
  innerResponse,
  innerSlowResponse,
  listenFetch,
  type RouteFixtureOptions,
  RUNTIME,
  RUNTIME_LIMITS,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import { sse, sseRoute } from '../src/index.js';

/** The conformance suite's inner app, as a plain fetch handler. */
export async function innerApp(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const answer =
    url.pathname === '/slow'
      ? await innerSlowResponse(
          new Promise((resolve) =>
            request.signal.addEventListener('abort', resolve, { once: true }),
          ),
        )
      : innerResponse(
          request.method,
          url.pathname,
          url.search.slice(1),
          Object.fromEntries(request.headers),
        );
  const bodiless = request.method === 'HEAD' || [204, 205, 304].includes(answer.status);
  return new Response(bodiless ? null : answer.body, {
    status: answer.status,
    headers: { 'Content-Type': answer.contentType },
  });
}

/** How the fixture ends its streams before Deno's server shuts down (it waits for them). */
const ENDING = { event: null, retry: 0, timeout: 1000 } as const;

/** The suite on `sse(handler)` and `sseRoute()`, served by this runtime's own server. */
export const harness: ConformanceHarness = {
  name: `fetch handler on ${RUNTIME}`,
  capabilities: {
    corsPlugin:
      'a fetch handler has no CORS plugin ecosystem: the application sets CORS headers itself, which the headers option does for streams',
    failingUpstream:
      'a fetch handler has no middleware chain: whatever wraps it is the application’s own function',
    endingUpstream:
      'a fetch handler’s stream is a ReadableStream Response that the runtime’s server reads: nothing in front of the handler holds the response to end it',
    frameworkBody:
      'a fetch handler has no framework body parser: the body is the Request’s own stream, which the route reads once',
    ...RUNTIME_LIMITS[RUNTIME],
  },
  async start(options: SseOptions, fixture: FixtureOptions = {}) {
    const inner = fixture.secondMiddleware ? sse(innerApp, fixture.secondMiddleware) : innerApp;
    const streams = sse(inner, options);
    return {
      ...(await listenFetch(streams, () => streams.close(ENDING))),
      shutdownStreams: streams.close,
    };
  },
  async startRoute(options: SseOptions, fixture: RouteFixtureOptions = {}) {
    const { requestMatcher: _, ...routeOptions } = options;
    const route = sseRoute(routeOptions);
    const server = await listenFetch(
      (request: Request, ...rest: unknown[]) => {
        if (new URL(request.url).pathname !== '/route') return new Response(null, { status: 404 });
        if (!fixture.frameworkAuth) return route(request, ...rest);
        // The application's own auth in front: a user, or its own 401.
        const user = fixtureUser(request.headers.get('authorization'));
        if (!user)
          return new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });
        return route.respond(request, { principal: user }, ...rest);
      },
      () => route.close(ENDING),
    );
    return { ...server, shutdownStreams: route.close };
  },
};
