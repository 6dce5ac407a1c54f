import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  innerResponse,
  listenNode,
} from '@sse-middleware/conformance';
import type { SseOptions } from '@sse-middleware/core';
import cors from 'cors';
import { sseMiddleware } from '../src/index.js';

/** The conformance suite's inner app, as a plain node:http listener. */
export const innerApp: RequestListener = (req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const answer = innerResponse(req.method ?? 'GET', url.pathname, url.search.slice(1));
  res.writeHead(answer.status, { 'Content-Type': answer.contentType });
  res.end(req.method === 'HEAD' ? undefined : answer.body);
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
    const sse = sseMiddleware(innerApp, options);
    const allowOrigin = cors({ origin: CORS_ORIGIN });
    const server = await listen(
      fixture.cors ? (req, res) => allowOrigin(req, res, () => sse(req, res)) : sse,
    );
    return { ...server, shutdownStreams: sse.close };
  },
};
