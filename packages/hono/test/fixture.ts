import type { Server } from 'node:http';
import { type HttpBindings, serve } from '@hono/node-server';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  type FixtureOptions,
  fixtureUser,
  innerResponse,
  innerSlowResponse,
  listenFetch,
  listening,
  type RouteFixtureOptions,
  RUNTIME,
  RUNTIME_LIMITS,
  UpstreamFailure,
} from '@sse-middleware/conformance';
import { type ErrorHandler, Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type HonoSseOptions, type HonoSseRouteOptions, sse, sseRoute } from '../src/index.js';

/** Marks a request the inner app answered, so that `failingUpstream` only fails streamed ones. */
type FixtureEnv = {
  Variables: { answeredByInnerApp: boolean; user: { key: string; topics: string[] } | undefined };
};

/** The conformance suite's inner app, as a catch-all Hono handler. */
export const innerApp: MiddlewareHandler<FixtureEnv> = async (c) => {
  const url = new URL(c.req.url);
  const signal = c.req.raw.signal;
  const answer =
    url.pathname === '/slow'
      ? await innerSlowResponse(
          new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true })),
        )
      : innerResponse(
          c.req.method,
          url.pathname,
          url.search.slice(1),
          Object.fromEntries(c.req.raw.headers),
        );
  c.set('answeredByInnerApp', true);
  return c.body(answer.body, answer.status as ContentfulStatusCode, {
    'Content-Type': answer.contentType,
  });
};

/**
 * Fails after the downstream chain, the way a buggy logging or metrics middleware would. On the
 * fast path the stream is already on the wire, so @hono/node-server logs `ERR_HTTP_HEADERS_SENT`
 * for the onError answer it cannot send, and closes the connection (see the README).
 */
export const failingUpstream: MiddlewareHandler<FixtureEnv> = async (c, next) => {
  await next();
  if (!c.get('answeredByInnerApp')) {
    throw new UpstreamFailure('upstream middleware failed after next()');
  }
};

/** Hono's default error handler, minus the log of the errors the suite provokes on purpose. */
export const answerErrors: ErrorHandler = (error, c) => {
  if (!(error instanceof UpstreamFailure) && error.message !== 'inner failure') {
    console.error(error);
  }
  return c.text('Internal Server Error', 500);
};

/** The suite's app: the fixture's middleware, then `sse()`, then the inner app. */
export function buildFixtureApp(options: HonoSseOptions, fixture: FixtureOptions = {}) {
  const app = new Hono<FixtureEnv>();
  app.onError(answerErrors);
  if (fixture.cors) app.use(cors({ origin: CORS_ORIGIN }));
  if (fixture.failingUpstream) app.use(failingUpstream);
  const { endingUpstream } = fixture;
  if (endingUpstream) {
    app.use(async (c, next) => {
      const { outgoing } = c.env as HttpBindings;
      endingUpstream(() => outgoing.end());
      await next();
    });
  }
  const streams = sse({ app, ...options });
  app.use(streams);
  if (fixture.secondMiddleware) app.use(sse({ app, ...fixture.secondMiddleware }));
  app.all('*', innerApp);
  return { app, streams };
}

/** Serves the suite's app on @hono/node-server, with the middleware's graceful shutdown. */
async function start(options: HonoSseOptions, fixture?: FixtureOptions) {
  const { app, streams } = buildFixtureApp(options, fixture);
  return {
    ...(await listen(app, () => streams.close(ENDING))),
    shutdownStreams: streams.close,
  };
}

/** The route-level form on `/route`; with `frameworkBody`, a middleware reads the body with Hono first. */
async function startRoute(options: HonoSseRouteOptions, fixture: RouteFixtureOptions = {}) {
  const app = new Hono<FixtureEnv>();
  app.onError(answerErrors);
  if (fixture.frameworkBody) {
    app.use('/route', async (c, next) => {
      await c.req.json();
      await next();
    });
  }
  const route = sseRoute(options);
  if (fixture.frameworkAuth) {
    // Hono auth middleware: sets c.var.user, or answers 401 itself.
    app.use('/route', async (c, next) => {
      const user = fixtureUser(c.req.header('authorization'));
      if (!user) return c.body(null, 401, { 'WWW-Authenticate': 'Bearer' });
      c.set('user', user);
      await next();
    });
    app.all('/route', (c) => route.respond(c, { principal: c.get('user') }));
  } else {
    app.all('/route', route);
  }
  return { ...(await listen(app, () => route.close(ENDING))), shutdownStreams: route.close };
}

/** How the fixture ends its streams before Deno's server shuts down (it waits for them). */
const ENDING = { event: null, retry: 0, timeout: 1000 } as const;

/** Serves `app` with @hono/node-server on 127.0.0.1, port 0 (on Bun and Deno, with their own server). */
export function listen(
  app: { fetch: Hono['fetch'] },
  endStreams?: () => Promise<void>,
): Promise<ConformanceServer> {
  if (RUNTIME !== 'node') return listenFetch(app.fetch, endStreams);
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () =>
      resolve(listening(server as Server)),
    );
  });
}

/** Why `endingUpstream` cannot run off Node. */
const OFF_NODE_ENDING = `off Node a stream is a ReadableStream Response that ${RUNTIME}'s own server reads: nothing in front of the handler holds the response to end it`;

/** The suite on @hono/node-server, where the stream goes straight to the Node response. */
export const harness: ConformanceHarness = {
  name: RUNTIME === 'node' ? 'hono on @hono/node-server' : `hono on ${RUNTIME}`,
  // Off Node there is no Node response to write to: every stream is a ReadableStream Response.
  capabilities:
    RUNTIME === 'node'
      ? {}
      : {
          failingUpstream:
            'off Node every stream is a ReadableStream Response, which goes out only once the whole middleware chain has returned: when a middleware in front throws after next(), Hono sends its onError answer instead',
          endingUpstream: OFF_NODE_ENDING,
          ...RUNTIME_LIMITS[RUNTIME],
        },
  start,
  startRoute: ({ requestMatcher: _, ...options }, fixture) => startRoute(options, fixture),
};

/** The suite through the `ReadableStream` Response every fetch runtime uses, on @hono/node-server. */
export const webStreamHarness: ConformanceHarness = {
  name:
    RUNTIME === 'node'
      ? 'hono, ReadableStream response (nodeFastPath: false)'
      : `hono on ${RUNTIME}, nodeFastPath: false (no effect off Node)`,
  capabilities: {
    failingUpstream:
      'a ReadableStream Response goes out only once the whole middleware chain has returned, so when a middleware in front throws after next() the stream never begins: Hono sends its onError answer instead (hono.test.ts checks that the slot is freed all the same)',
    ...(RUNTIME === 'node' ? {} : { endingUpstream: OFF_NODE_ENDING }),
    ...RUNTIME_LIMITS[RUNTIME],
  },
  start: (options, fixture) => start({ ...options, nodeFastPath: false }, fixture),
  startRoute: ({ requestMatcher: _, ...options }, fixture) =>
    startRoute({ ...options, nodeFastPath: false }, fixture),
};
