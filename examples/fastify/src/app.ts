import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createExampleChannel,
  createPostStreams,
  createPrivateStreams,
  createScoreboard,
  DASHBOARD_PATHS,
  dashboardAsset,
  echoRequest,
  eventsStreamOptions,
  heartbeatFromEnv,
  MAX_PUBLISH_BYTES,
  processMetrics,
  publishRequest,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import sse, { sseReply } from '@sse-middleware/fastify';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';

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
  const posts = createPostStreams(env);
  const privates = createPrivateStreams(env);

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
  // reply.sseStream(): routes that answer with a stream; each route's `sseStream` option has its own.
  // On the root instance, so every route below sees it; app.close() ends its streams.
  await app.register(sseReply, { heartbeat: heartbeatFromEnv(env) });

  app.get('/', async (request) =>
    echoRequest(request.method, request.url, Object.entries(request.headers)),
  );
  app.get('/app/metrics', async () =>
    processMetrics(
      {
        polling: app.sseStreams.stats('polling'),
        score: app.sseStreams.stats('score'),
        events: app.sseStreams.stats('events'),
        channel: channel.stats(),
        private: app.sseStreams.stats('private'),
        privateChannel: privates.stats(),
      },
      posts.generations(),
    ),
  );
  // GET /dashboard: the live dashboard (and its /dashboard.js and /dashboard.css), which plots
  // what GET /app/metrics?stream=true streams.
  for (const path of DASHBOARD_PATHS) {
    app.get(path, async (_request, reply) => {
      const { status, headers, body } = dashboardAsset(path)!;
      return reply.code(status).headers(headers).send(body);
    });
  }
  await app.register(async (streams) => {
    // These routes read (and refuse) their bodies themselves, OpenAI-style, or need none (stop):
    // Fastify leaves every body unread.
    streams.removeAllContentTypeParsers();
    streams.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    // POST /v1/chat/completions: the OpenAI Chat Completions API with the `echo` model.
    streams.post(
      '/v1/chat/completions',
      {
        sseStream: {
          name: 'completions',
          ...posts.completions,
        },
      },
      (_request, reply) => reply.sseStream(),
    );
    // POST /chat starts a resumable generation; GET /chat/:id/stream resumes it after Last-Event-ID.
    streams.post(
      '/chat',
      {
        sseStream: { name: 'chat', ...posts.chatStart },
      },
      (_request, reply) => reply.sseStream(),
    );
    streams.get(
      '/chat/:id/stream',
      { sseStream: { name: 'chat-resume', ...posts.chatResume } },
      (_request, reply) => reply.sseStream(),
    );
    // GET /private/events: a user's own stream (a JWT, a session cookie or a ticket).
    streams.get(
      '/private/events',
      { sseStream: { name: 'private', ...privates.events } },
      (_request, reply) => reply.sseStream(),
    );
    // POST /chat/:id/stop stops a generation, wherever it runs.
    streams.post('/chat/:id/stop', async (request, reply) => {
      const path = new URL(request.url, 'http://localhost').pathname;
      const { status, body } = await posts.stop(path);
      return reply.code(status).type('application/json').send(JSON.stringify(body));
    });
  });
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
  await app.register(async (privateRoutes) => {
    // The private POST routes issue tickets, publish to one user and kick one. The kit reads the
    // body itself: keep it as a string, and answer a refused one (413) with a JSON { error } too.
    privateRoutes.removeAllContentTypeParsers();
    privateRoutes.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) =>
      done(null, body),
    );
    privateRoutes.setErrorHandler((error: FastifyError, _request, reply) => {
      const status = error.statusCode ?? 500;
      const message = status < 500 ? error.message : 'internal server error';
      return reply.code(status).send({ error: message });
    });
    for (const [path, privatePost] of privates.posts) {
      privateRoutes.post<{ Body: string | undefined }>(
        path,
        { bodyLimit: MAX_PUBLISH_BYTES },
        async (request, reply) => {
          const header = (name: string) => {
            const value = request.headers[name];
            return Array.isArray(value) ? value.join(', ') : value;
          };
          const answer = await privatePost(header, request.body ?? '');
          return reply
            .code(answer.status)
            .headers(answer.headers ?? {})
            .send(answer.body);
        },
      );
    }
  });
  return app;
}
