import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createScoreboard,
  echoRequest,
  processMetrics,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import { sse } from '@sse-middleware/koa';
import Koa from 'koa';

/** The app's routes without streaming: what a user already has. */
const routes: Koa.Middleware = (ctx) => {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
    ctx.status = 405;
    ctx.body = { error: 'method not allowed' };
  } else if (ctx.path === '/') {
    ctx.body = echoRequest(ctx.method, ctx.url, Object.entries(ctx.headers));
  } else if (ctx.path === '/app/metrics') {
    ctx.body = processMetrics();
  } else {
    ctx.status = 404;
    ctx.body = { error: 'not found' };
  }
};

/** The example app; `main.ts` only listens. */
export function buildApp({ scoreboard = createScoreboard() }: { scoreboard?: Scoreboard } = {}) {
  const app = new Koa();
  // Quickstart 2: GET /score streams the score every 3 seconds to at most 100 clients.
  app.use(
    sse({
      requestMatcher: uriMatch('/score'),
      chunkGenerator: wrapSseEvent(wrapDelay(() => scoreboard.emitScore(), 3000)),
      maxConnections: 100,
    }),
  );
  // Quickstart 1: GET <route>?stream=true streams that route's body once a second (10 streams at most).
  app.use(sse());
  app.use(routes);
  return app;
}
