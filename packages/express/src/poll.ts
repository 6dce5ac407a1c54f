import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';

/** Where the polls of one stream go: the outermost app, and the mount path of the middleware. */
export interface PollOrigin {
  readonly app: ((req: IncomingMessage, res: ServerResponse) => unknown) | undefined;
  /** `req.baseUrl` where `sse()` ran (`/api` for `app.use('/api', router)`), `''` at the app's root. */
  readonly base: string;
}

/**
 * The origin of the stream a poll belongs to. The node-http adapter makes each poll from the
 * stream's own async context (the stream starts inside the middleware call, and every poll
 * follows from it through promises and timers), so a poll finds its app and mount path here.
 */
const origins = new AsyncLocalStorage<PollOrigin>();

/** Runs the middleware for `req` with its poll origin: the app up its mounts, and `req.baseUrl`. */
export function withPollOrigin<T>(req: Request, run: () => T): T {
  return origins.run({ app: outermost(req.app), base: req.baseUrl ?? '' }, run);
}

/** Runs `next` outside any poll origin: the middleware after `sse()` never runs in its context. */
export function withoutPollOrigin(next: () => void): void {
  origins.exit(next);
}

/** `app`, or the app it is mounted in, up to the one the server calls (`app.parent`). */
function outermost(app: unknown): PollOrigin['app'] {
  let current = app as { parent?: unknown } | undefined;
  while (typeof current?.parent === 'function') current = current.parent as { parent?: unknown };
  return typeof current === 'function' ? (current as PollOrigin['app']) : undefined;
}

/**
 * Sends one poll (light-my-request's in-memory request, made by the node-http adapter) through
 * the whole Express app, at the matched path under the middleware's mount path. Its answer is
 * whatever the app sends: a route's body, the 404 of the final handler, the 500 or the answer of
 * the app's error-handling middleware when a route fails.
 */
export function pollApp(req: IncomingMessage, res: ServerResponse): void {
  const origin = origins.getStore();
  if (!origin?.app) {
    throw new TypeError(
      'The default chunkGenerator of sse() polls the Express app that ran the middleware (req.app), and this request had none: mount sse() with app.use() or router.use(), or pass a chunkGenerator or a source',
    );
  }
  keepOwnMethods(req);
  keepOwnMethods(res);
  req.url = `${origin.base}${req.url ?? '/'}`;
  origin.app(req, res);
}

/**
 * Express gives every request and response it handles its own prototypes (`app.request`,
 * `app.response`, again in each mounted app), which would drop the methods of the in-memory
 * request and response classes: the response would no longer record what the app sends. Their
 * class's methods become their own properties, which no prototype change reaches.
 */
function keepOwnMethods(target: object): void {
  const proto: unknown = Object.getPrototypeOf(target);
  if (proto === null || typeof proto !== 'object') return;
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(proto))) {
    if (name === 'constructor' || Object.hasOwn(target, name)) continue;
    Object.defineProperty(target, name, descriptor);
  }
}
