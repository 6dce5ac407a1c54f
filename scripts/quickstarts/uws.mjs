// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/uws uWebSockets.js`.

import uWS from 'uWebSockets.js';
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { assertNativeUws, sse } from '@sse-middleware/uws';
import { checkQuickstarts, emitScore } from './first-event.mjs';

assertNativeUws(uWS);
const route = (path) =>
  path === '/app/metrics'
    ? { status: 200, body: JSON.stringify(process.memoryUsage()) }
    : { status: 404, body: '{"error":"not found"}' };

const app = uWS
  .App()
  .get(
    '/score',
    sse({
      requestMatcher: uriMatch('/score'),
      chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
      maxConnections: 100,
    }),
  )
  .get('/*', sse({ handler: (req) => route(req.path) }))
  .any('/*', (res, req) => {
    const { status, body } = route(req.getUrl());
    res.writeStatus(status === 200 ? '200 OK' : '404 Not Found').end(body);
  });
const port = await new Promise((resolve, reject) =>
  app.listen('127.0.0.1', 0, (socket) =>
    socket ? resolve(uWS.us_socket_local_port(socket)) : reject(new Error('cannot listen')),
  ),
);
await checkQuickstarts(`http://127.0.0.1:${port}`);
app.close();
