// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/fetch @hono/node-server`
// (on Bun or Deno the same handler goes to Bun.serve / Deno.serve; here Node serves it through a Fetch bridge).
import { serve } from '@hono/node-server';
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { sse } from '@sse-middleware/fetch';
import { checkQuickstarts, emitScore } from './first-event.mjs';

const app = (request) =>
  Response.json({ path: new URL(request.url).pathname, heapUsed: process.memoryUsage().heapUsed });

const quickstart1 = sse(app);
const quickstart2 = sse(quickstart1, {
  requestMatcher: uriMatch('/score'),
  chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
  maxConnections: 100,
});
const server = serve({ fetch: quickstart2, port: 0, hostname: '127.0.0.1' });
await new Promise((resolve) => server.once('listening', resolve));
await checkQuickstarts(`http://127.0.0.1:${server.address().port}`);
server.closeAllConnections?.();
server.close();
