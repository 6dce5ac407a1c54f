// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/hono hono @hono/node-server`.
import { serve } from '@hono/node-server';
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { sse } from '@sse-middleware/hono';
import { Hono } from 'hono';
import { checkQuickstarts, emitScore } from './first-event.mjs';

const app = new Hono();
app.use(
  sse({
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
    maxConnections: 100,
  }),
);
app.use(sse({ app }));
app.get('/app/metrics', (c) => c.json(process.memoryUsage()));
const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
await new Promise((resolve) => server.once('listening', resolve));
await checkQuickstarts(`http://127.0.0.1:${server.address().port}`);
server.closeAllConnections?.();
server.close();
