import { once } from 'node:events';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  fixtureUser,
  type InnerAnswer,
  innerResponse,
  innerSlowResponse,
  listenNode,
  UpstreamFailure,
} from '@sse-middleware/conformance';
import cors from 'cors';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { sse, sseRoute } from '../src/index.js';

/** The conformance suite's inner app, as Express routes at the end of the chain. */
export const innerApp: RequestHandler = (req, res) => {
  const send = (answer: InnerAnswer) => {
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'Content-Type': answer.contentType });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  };
  if (req.path === '/slow') {
    void innerSlowResponse(once(req, 'close')).then(send);
    return;
  }
  const query = new URL(req.url, 'http://localhost').search.slice(1);
  // innerResponse throws for /throw: Express hands the error to its error handling (a 500).
  send(innerResponse(req.method, req.path, query, req.headers));
};

/**
 * Fails after the downstream chain has run, the way a buggy logging or metrics middleware would:
 * Express 5 hands the error to its error handling, after the SSE middleware took the request.
 */
export const failingUpstream: RequestHandler = (_req, res, next) => {
  next();
  if (isStream(res)) throw new UpstreamFailure('upstream middleware failed after next()');
};

/** Whether the SSE middleware has started a stream on `res`. */
export function isStream(res: Response): boolean {
  return String(res.getHeader('Content-Type')).startsWith('text/event-stream');
}

/** Errors that the suite provokes on purpose. */
export function provoked(error: unknown): boolean {
  return (
    error instanceof UpstreamFailure || (error as Error | undefined)?.message === 'inner failure'
  );
}

/**
 * Error-handling middleware as Express's documentation writes it: once a response has started it
 * defers to Express's default handler, which closes the connection; otherwise a 500. Only errors
 * the suite does not provoke are logged.
 */
export const errorHandler: ErrorRequestHandler = (error, _req, res, next) => {
  if (!provoked(error)) console.error(error);
  if (res.headersSent) {
    next(error);
    return;
  }
  res.status(500).type('text/plain').send('Internal Server Error');
};

/** A request after the fixture's auth middleware. */
type AuthedRequest = Request & { user?: ReturnType<typeof fixtureUser> };

/** Express-style auth middleware: sets req.user, or answers 401 itself. */
export const requireUser: RequestHandler = (req, res, next) => {
  const user = fixtureUser(req.get('authorization'));
  if (!user) {
    res.status(401).set('WWW-Authenticate', 'Bearer').end();
    return;
  }
  (req as AuthedRequest).user = user;
  next();
};

export function listen(app: Express): Promise<ConformanceServer> {
  return listenNode(app);
}

export const harness: ConformanceHarness = {
  name: 'express',
  async start(options, fixture = {}) {
    const app = express();
    if (fixture.cors) app.use(cors({ origin: CORS_ORIGIN }));
    if (fixture.failingUpstream) app.use(failingUpstream);
    const { endingUpstream } = fixture;
    if (endingUpstream) {
      app.use((_req, res, next) => {
        endingUpstream(() => res.end());
        next();
      });
    }
    const streams = sse(options);
    app.use(streams);
    if (fixture.secondMiddleware) app.use(sse(fixture.secondMiddleware));
    app.use(innerApp);
    app.use(errorHandler);
    return { ...(await listen(app)), shutdownStreams: streams.close };
  },
  async startRoute(options, fixture = {}) {
    const app = express();
    const route = sseRoute(options);
    if (fixture.frameworkAuth) {
      app.all('/route', requireUser, (req, res) =>
        route.respond(req, res, { principal: (req as AuthedRequest).user }),
      );
    } else if (fixture.frameworkBody) {
      app.all('/route', express.json(), route);
    } else {
      app.all('/route', route);
    }
    app.use((_req, res) => {
      res.status(404).end();
    });
    app.use(errorHandler);
    return { ...(await listen(app)), shutdownStreams: route.close };
  },
};
