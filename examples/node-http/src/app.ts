import type { IncomingMessage, ServerResponse } from 'node:http';
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createScoreboard,
  echoRequest,
  processMetrics,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import { sseMiddleware } from '@sse-middleware/node-http';

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The app without streaming: what a user already has. */
function handler(req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD')
    return sendJson(res, 405, { error: 'method not allowed' });
  if (path === '/')
    return sendJson(res, 200, echoRequest(req.method, req.url ?? '/', Object.entries(req.headers)));
  if (path === '/app/metrics') return sendJson(res, 200, processMetrics());
  return sendJson(res, 404, { error: 'not found' });
}

/** The example app as a node:http request listener; `main.ts` only listens. */
export function buildApp({ scoreboard = createScoreboard() }: { scoreboard?: Scoreboard } = {}) {
  // Quickstart 1: GET <route>?stream=true streams that route's body once a second (10 streams at most).
  const withStreams = sseMiddleware(handler);
  // Quickstart 2: GET /score streams the score every 3 seconds to at most 100 clients.
  return sseMiddleware(withStreams, {
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => scoreboard.emitScore(), 3000)),
    maxConnections: 100,
  });
}
