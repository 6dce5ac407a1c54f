// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/express express`.
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { sse } from '@sse-middleware/express';
import express from 'express';
import { checkQuickstarts, emitScore } from './first-event.mjs';

const app = express();
app.use(
  sse({
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
    maxConnections: 100,
  }),
);
app.use(sse());
app.get('/app/metrics', (_req, res) => {
  res.json(process.memoryUsage());
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await checkQuickstarts(`http://127.0.0.1:${server.address().port}`);
server.closeAllConnections();
server.close();
