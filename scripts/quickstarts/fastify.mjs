// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/fastify fastify`.
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import sse from '@sse-middleware/fastify';
import Fastify from 'fastify';
import { checkQuickstarts, emitScore } from './first-event.mjs';

const app = Fastify();
await app.register(sse, {
  requestMatcher: uriMatch('/score'),
  chunkGenerator: wrapSseEvent(wrapDelay(() => emitScore(), 3000)),
  maxConnections: 100,
});
await app.register(sse);
app.get('/app/metrics', async () => process.memoryUsage());
const base = await app.listen({ port: 0, host: '127.0.0.1' });
await checkQuickstarts(base);
await app.close();
