import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  innerResponse,
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

export async function listen(listener: RequestListener): Promise<ConformanceServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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
