// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/node-http`.
import { createServer } from 'node:http';
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { sseMiddleware } from '@sse-middleware/node-http';
import { checkQuickstarts, emitScore } from './first-event.mjs';

function handler(req, res) {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ path: req.url, heapUsed: process.memoryUsage().heapUsed }));
}

const quickstart1 = sseMiddleware(handler);
const quickstart2 = sseMiddleware(quickstart1, {
  requestMatcher: uriMatch('/score'),
  chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
  maxConnections: 100,
});
const server = createServer(quickstart2).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

await checkQuickstarts(base);
server.closeAllConnections();
server.close();
