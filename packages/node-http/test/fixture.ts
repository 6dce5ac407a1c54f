import { once } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  fixtureUser,
  type InnerAnswer,
  innerResponse,
  innerSlowResponse,
  listenNode,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import bodyParser from 'body-parser';
import cors from 'cors';
import { sse, sseRoute } from '../src/index.js';

/** The conformance suite's inner app, as a plain node:http listener. */
export const innerApp: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const send = (answer: InnerAnswer) => {
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'Content-Type': answer.contentType });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  };
  if (url.pathname === '/slow') {
    void innerSlowResponse(once(req, 'close')).then(send);
    return;
  }
  send(innerResponse(req.method ?? 'GET', url.pathname, url.search.slice(1), req.headers));
};

export function listen(listener: RequestListener): Promise<ConformanceServer> {
  return listenNode(listener);
}

export const harness: ConformanceHarness = {
  name: 'node-http',
  capabilities: {
    failingUpstream:
      'node:http has no middleware chain: a listener that throws after answering is an uncaught exception, not a framework error',
  },
  async start(options: SseOptions, fixture = {}) {
    const inner = fixture.secondMiddleware ? sse(innerApp, fixture.secondMiddleware) : innerApp;
    const streams = sse(inner, options);
    const allowOrigin = cors({ origin: CORS_ORIGIN });
    const withCors: RequestListener = fixture.cors
      ? (req, res) => allowOrigin(req, res, () => streams(req, res))
      : streams;
    const { endingUpstream } = fixture;
    const server = await listen(
      endingUpstream
        ? (req, res) => {
            endingUpstream(() => res.end());
            withCors(req, res);
          }
        : withCors,
    );
    return { ...server, shutdownStreams: streams.close };
  },
  async startRoute(options, fixture = {}) {
    const route = sseRoute(options);
    // Express's own JSON parser (body-parser), which sets req.body as express.json() does.
    const parseJson = bodyParser.json();
    const server = await listen((req, res) => {
      if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/route') {
        res.writeHead(404).end();
        return;
      }
      if (fixture.frameworkAuth) {
        // Express-style auth middleware: sets req.user, or answers 401 itself.
        const user = fixtureUser(req.headers.authorization);
        if (!user) {
          res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end();
          return;
        }
        void route.respond(req, res, { principal: user });
        return;
      }
      if (!fixture.frameworkBody) {
        route(req, res);
        return;
      }
      parseJson(req, res, (error?: unknown) => {
        if (error) res.writeHead(400).end();
        else route(req, res);
      });
    });
    return { ...server, shutdownStreams: route.close };
  },
};
