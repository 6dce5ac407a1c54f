// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/koa koa`.
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { sse } from '@sse-middleware/koa';
import Koa from 'koa';
import { checkQuickstarts, emitScore } from './first-event.mjs';

const app = new Koa();
app.use(
  sse({
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
    maxConnections: 100,
  }),
);
app.use(sse());
app.use((ctx) => {
  if (ctx.path === '/app/metrics') ctx.body = process.memoryUsage();
});
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await checkQuickstarts(`http://127.0.0.1:${server.address().port}`);
server.closeAllConnections();
server.close();
