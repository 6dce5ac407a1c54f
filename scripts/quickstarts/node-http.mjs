// The README's two quickstarts, as a user runs them after `npm install @sse-middleware/core @sse-middleware/node-http`.
import { createServer } from 'node:http';
import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import { sseMiddleware } from '@sse-middleware/node-http';
import { EventSource } from 'undici';

const emitScore = () => 'India,187,4,31.2';
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

function firstEvent(url) {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const timer = setTimeout(() => reject(new Error(`no event from ${url} in 5 s`)), 5000);
    source.onmessage = (event) => {
      clearTimeout(timer);
      source.close();
      resolve(event.data);
    };
  });
}

const metrics = JSON.parse(await firstEvent(`${base}/app/metrics?stream=true`));
if (!(metrics.heapUsed > 0))
  throw new Error(`unexpected metrics event: ${JSON.stringify(metrics)}`);
const score = await firstEvent(`${base}/score`);
if (score !== emitScore()) throw new Error(`unexpected score event: ${score}`);
console.log(`quickstart ok: metrics event from /app/metrics?stream=true, score event "${score}"`);
server.closeAllConnections();
server.close();
