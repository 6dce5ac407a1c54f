import { once } from 'node:events';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  fixtureUser,
  innerResponse,
  innerSlowResponse,
  listenNode,
  UpstreamFailure,
} from '@sse-middleware/conformance';
import Koa from 'koa';
import { sse, sseRoute } from '../src/index.js';

/** The conformance suite's inner app, as a Koa middleware at the end of the chain. */
export const innerApp: Koa.Middleware = async (ctx) => {
  const answer =
    ctx.path === '/slow'
      ? await innerSlowResponse(once(ctx.req, 'close'))
      : innerResponse(ctx.method, ctx.path, ctx.querystring, ctx.headers);
  ctx.status = answer.status;
  ctx.type = answer.contentType;
  ctx.body = answer.body;
};

/** Fails after the downstream chain, the way a buggy logging or metrics middleware would. */
export const failingUpstream: Koa.Middleware = async (ctx, next) => {
  await next();
  if (ctx.respond === false) throw new UpstreamFailure('upstream middleware failed after next()');
};

/**
 * Koa's own error logging, minus the errors the suite provokes on purpose (the inner app's
 * `/throw`, the failing upstream middleware), so that only unexpected errors reach the output.
 */
export function logUnexpectedErrors(app: Koa): void {
  app.on('error', (error: Error) => {
    if (error instanceof UpstreamFailure || error.message === 'inner failure') return;
    app.onerror(error);
  });
}

export function listen(app: Koa): Promise<ConformanceServer> {
  return listenNode(app.callback());
}

export const harness: ConformanceHarness = {
  name: 'koa',
  async start(options, fixture = {}) {
    const app = new Koa();
    logUnexpectedErrors(app);
    if (fixture.cors) app.use(cors({ origin: CORS_ORIGIN }));
    if (fixture.failingUpstream) app.use(failingUpstream);
    const { endingUpstream } = fixture;
    if (endingUpstream) {
      app.use((ctx, next) => {
        endingUpstream(() => ctx.res.end());
        return next();
      });
    }
    const streams = sse(options);
    app.use(streams);
    if (fixture.secondMiddleware) app.use(sse(fixture.secondMiddleware));
    app.use(innerApp);
    return { ...(await listen(app)), shutdownStreams: streams.close };
  },
  async startRoute(options, fixture = {}) {
    const app = new Koa();
    logUnexpectedErrors(app);
    if (fixture.frameworkBody) app.use(bodyParser());
    const route = sseRoute(options);
    if (fixture.frameworkAuth) {
      // Koa auth middleware: sets ctx.state.user, or answers 401 itself.
      app.use(async (ctx, next) => {
        const user = fixtureUser(ctx.get('authorization'));
        if (!user) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer');
          return;
        }
        ctx.state.user = user;
        await next();
      });
      app.use((ctx, next) =>
        ctx.path === '/route' ? route.respond(ctx, { principal: ctx.state.user }) : next(),
      );
    } else {
      app.use((ctx, next) => (ctx.path === '/route' ? route(ctx, next) : next()));
    }
    return { ...(await listen(app)), shutdownStreams: route.close };
  },
};
