import type { SseOptions, StreamInit } from '@sse-middleware/core';
import {
  attachHandle,
  createSseEngine,
  invalid,
  isPoll,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import type { Context, MiddlewareHandler } from 'hono';
import { nodeOutgoingOf, refusePipelinedOnNode, streamToNode } from './node-server.js';
import { type FetchApp, pollApp } from './poll.js';
import { requestView } from './request.js';
import { answerResponse } from './route.js';
import { streamResponse } from './web-stream.js';

export type { FetchApp } from './poll.js';
export { type HonoSseRouteOptions, type SseRoute, sseRoute } from './route.js';

/**
 * The options of {@link sse}: the core's {@link SseOptions}, plus the app that the default chunk
 * generator polls and the choice of path on @hono/node-server. In matchers, `authorize`, `answer`,
 * `hooks.opened`, the source's call and chunk generators, `req.raw` is the Hono {@link Context}
 * being streamed; once a stream has started, the other hooks and `onError` get the view without
 * it, so that the stream does not keep the Context alive (see the README).
 */
export interface HonoSseOptions extends SseOptions {
  /**
   * The app the default chunk generator polls: every tick it calls `app.fetch()` with a `GET` for
   * the matching path and query and the client's headers, and sends the body as `data:`. Required
   * unless `chunkGenerator` or `source` is given.
   *
   * ```ts context=hono-sse
   * const app = new Hono();
   * app.use(sse({ app }));
   * ```
   */
  app?: FetchApp | undefined;
  /**
   * On @hono/node-server, write the stream straight to the Node response (`c.env.outgoing`): what
   * the node:http adapter costs per event. Default `true`. With `false` the stream is a
   * `ReadableStream` Response there too, as on every other runtime, so that middleware in front
   * which changes `c.res` after `await next()` (cors() adds `Vary: Origin` then) applies to it; the
   * Web Streams bridge then costs more CPU per event (see docs/benchmarks.md).
   */
  nodeFastPath?: boolean | undefined;
}

/**
 * What {@link sse} returns: a Hono middleware, with its `engine` (`connections.active` counts its
 * open streams, `stats()` more) and graceful `close()` (the core's `SseHandle`). Call `close()`
 * before closing the server, which otherwise waits for streams that never end.
 *
 * ```ts context=hono-app,hono-sse,node-server
 * const streams = sse({ app });
 * app.use(streams);
 * process.on('SIGTERM', async () => { await streams.close(); server.close(); });
 * ```
 */
export type SseMiddleware = SseHandler<MiddlewareHandler>;

/**
 * Hono middleware that turns matching requests into Server-Sent Events streams; every other request
 * goes to `next()` untouched. Runs on any fetch runtime.
 *
 * ```ts
 * import { Hono } from 'hono';
 * import { sse } from '@sse-middleware/hono';
 *
 * const app = new Hono();
 * // GET /app/metrics?stream=true streams the body of GET /app/metrics once per second.
 * app.use(sse({ app }));
 * app.get('/app/metrics', (c) => c.json(process.memoryUsage()));
 * ```
 *
 * A matching request is answered at once with the stream's head, and the middleware returns while
 * the stream carries on. On @hono/node-server the stream goes straight to the Node response;
 * elsewhere (or with `nodeFastPath: false`) it is a `ReadableStream` Response. Headers set upstream
 * on the context (`hono/cors`, `c.header()`) go out with it in both cases.
 *
 * @param options What to stream and how; see {@link HonoSseOptions}. Invalid options throw a
 * `TypeError` naming the option.
 */
export function sse(options: HonoSseOptions): SseMiddleware {
  const { app, nodeFastPath, engineOptions } = splitOptions(options);
  const engine = createSseEngine(engineOptions, app ? { innerHandler: pollApp(app) } : {});

  const middleware: MiddlewareHandler = async function sse(c, next) {
    if (isPoll(c.req.raw)) return next();
    // Pipelined behind an open stream on this connection: run nothing, close the connection.
    const pipelined = refusePipelinedOnNode(c);
    if (pipelined) return pipelined;
    const matched = engine.match(requestView(c));
    if (!matched) return next();
    // The head must be known when the response is returned: the body is read, and the
    // application's answer asked for, first.
    let init: StreamInit | undefined;
    if (engine.prepares) {
      const preparation = await engine.prepare(matched);
      if (preparation.answer) return answerResponse(c, preparation.answer);
      init = preparation.init;
    }
    const outgoing = nodeOutgoingOf(c);
    if (outgoing && nodeFastPath) return streamToNode(c, engine, matched, outgoing, init);
    return streamResponse(c, engine, matched, outgoing, init);
  };
  return attachHandle(middleware, engine);
}

function splitOptions(given: HonoSseOptions | undefined) {
  const options = given === undefined ? {} : given;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalid('sse(options)', 'an object', options);
  }
  const { app, nodeFastPath = true, ...engineOptions } = options;
  if (app !== undefined && typeof (app as Partial<FetchApp> | null)?.fetch !== 'function') {
    throw invalid('options.app', 'a Hono app (anything with a fetch method)', app);
  }
  if (typeof nodeFastPath !== 'boolean') {
    throw invalid('options.nodeFastPath', 'a boolean', nodeFastPath);
  }
  if (app === undefined && engineOptions.chunkGenerator == null && engineOptions.source == null) {
    throw new TypeError(
      'sse() needs options.app, the Hono app whose responses the default chunk generator streams (sse({ app })), or else options.chunkGenerator or options.source',
    );
  }
  return { app, nodeFastPath, engineOptions };
}
