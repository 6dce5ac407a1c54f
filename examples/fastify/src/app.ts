import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createExampleChannel,
  createScoreboard,
  echoRequest,
  eventsStreamOptions,
  MAX_PUBLISH_BYTES,
  processMetrics,
  publishRequest,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import sse from '@sse-middleware/fastify';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';

export interface AppOptions extends FastifyServerOptions {
  scoreboard?: Scoreboard;
  env?: NodeJS.ProcessEnv;
}

/** The example app; `main.ts` only listens. */
export async function buildApp({
  scoreboard = createScoreboard(),
  env = process.env,
  ...fastifyOptions
}: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(fastifyOptions);
  const channel = createExampleChannel(env);

  // Registered on the root instance, each applies to every route and to URLs no route answers.
  // The first registration that matches a request serves it: /score?stream=true is the score.
  // Quickstart 2: GET /score streams the score every 3 seconds to at most 100 clients.
  await app.register(sse, {
    name: 'score',
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => scoreboard.emitScore(), 3000)),
    maxConnections: 100,
  });
  // Push: GET /events streams the channel that POST /publish publishes to.
  await app.register(sse, { name: 'events', ...eventsStreamOptions(channel, env) });
  // Quickstart 1: GET <route>?stream=true streams that route's body once a second (10 streams at most).
  await app.register(sse, { name: 'polling' });

  app.get('/', async (request) =>
    echoRequest(request.method, request.url, Object.entries(request.headers)),
  );
  app.get('/app/metrics', async () =>
    processMetrics({
      polling: app.sseStreams.stats('polling'),
      score: app.sseStreams.stats('score'),
      events: app.sseStreams.stats('events'),
      channel: channel.stats(),
    }),
  );
  await app.register(async (publishing) => {
    // The kit reads the body itself (text, or JSON it validates): keep every body as a string.
    publishing.removeAllContentTypeParsers();
    publishing.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    publishing.post<{ Body: string }>(
      '/publish',
      { bodyLimit: MAX_PUBLISH_BYTES },
      async (request, reply) => {
        const answer = await publishRequest(channel, request.body, request.headers['content-type']);
        return reply.code(answer.status).send(answer.body);
      },
    );
  });
  return app;
}
