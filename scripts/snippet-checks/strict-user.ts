// What a user writes in a strict project (checked by scripts/check-snippets.mjs against the packed
// packages, ESM and CommonJS, with exactOptionalPropertyTypes): optional properties take an
// explicit undefined wherever the runtime does, an interface is an event map, and a typed
// EventSource types the events the library sends itself.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type ChannelEvents,
  type ChunkGenerator,
  type CloseOptions,
  createChannel,
  createMemoryStore,
  type ReplayGap,
  type SseEvent,
  type SseOptions,
  typedEventSource,
  uriMatch,
} from '@sse-middleware/core';
import sseFastify from '@sse-middleware/fastify';
import { sse as sseHono } from '@sse-middleware/hono';
import { sse as sseKoa } from '@sse-middleware/koa';
import { sseMiddleware } from '@sse-middleware/node-http';
import { createRedisStore } from '@sse-middleware/redis';
import { sse as sseUws } from '@sse-middleware/uws';
import Fastify from 'fastify';

declare const maybeNumber: number | undefined;
declare const maybeString: string | undefined;
declare function handler(req: IncomingMessage, res: ServerResponse): void;

interface PriceEvents {
  price: { symbol: string; value: number };
  note: string;
}

// An interface event map.
const prices = createChannel<PriceEvents>({
  store: createMemoryStore({ limit: maybeNumber, epoch: maybeString }),
  serializer: undefined,
  onError: undefined,
  allowControlEvents: undefined,
});
void prices.publish('price', { symbol: 'ACME', value: 1 }, { topic: maybeString });
// @ts-expect-error: not an event of the map
void prices.publish('pirce', { symbol: 'ACME', value: 1 });
prices.source({ topics: undefined, filter: undefined });

// Every option takes undefined (its default).
const options: SseOptions = {
  requestMatcher: uriMatch('/prices'),
  source: prices.source(),
  retry: maybeNumber,
  heartbeat: maybeNumber,
  maxConnections: maybeNumber,
  retryAfter: undefined,
  headers: undefined,
  emptyResponse: undefined,
  onError: undefined,
  errorEvent: undefined,
  slowConsumer: { maxQueuedBytes: maybeNumber, policy: undefined },
  limitPerKey: undefined,
  hooks: undefined,
  chunkGenerator: undefined,
};
// @ts-expect-error: a typo in an option name
const typo: SseOptions = { hartbeat: 1000 };
void typo;

// A generator returning an event whose optional fields may be undefined.
const generator: ChunkGenerator = (req): SseEvent => ({
  data: req.path,
  event: maybeString,
  id: maybeString,
  retry: maybeNumber,
  comment: undefined,
});

const listener = sseMiddleware(handler, {
  ...options,
  source: undefined,
  chunkGenerator: generator,
});
const closing: CloseOptions = { event: undefined, retry: maybeNumber, timeout: undefined };
void listener.close(closing);

sseKoa({ retry: maybeNumber });
sseHono({ app: undefined, nodeFastPath: undefined, chunkGenerator: generator });
sseUws({ handler: undefined, chunkGenerator: generator, retry: maybeNumber });
await Fastify().register(sseFastify, { name: maybeString, retry: maybeNumber });

createRedisStore({
  url: maybeString, // process.env.REDIS_URL
  key: maybeString,
  trim: { maxLength: 1000, exact: undefined },
  blockMs: maybeNumber,
  whileDown: undefined,
  onError: undefined,
});

// The root README's browser line, as written.
const chat = createChannel<{ message: string; typing: { user: string } }>();
const source = typedEventSource<ChannelEvents<typeof chat>>(new EventSource('/events'));
source.addEventListener('typing', (event) => console.log(JSON.parse(event.data)));
source.addEventListener('replay-gap', (event) => {
  const gap: ReplayGap = JSON.parse(event.data);
  console.log(gap.reason, gap.lastEventId, gap.oldestRetainedId, gap.truncated);
});
source.addEventListener('shutdown', (event) => console.log('server going away', event.data));
source.addEventListener('error', (event) => {
  if (event.data !== undefined) console.log('the server failed:', event.data);
  else console.log('the connection failed');
});
// @ts-expect-error: not an event of the channel
source.addEventListener('tpying', () => {});
