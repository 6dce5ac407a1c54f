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
  MAX_PUBLISH_BYTES,
  processMetrics,
  publishRequest,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import { sse, sseRoute } from '@sse-middleware/hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export interface AppOptions {
  scoreboard?: Scoreboard;
  env?: NodeJS.ProcessEnv;
}

/** The example app; `main.ts` only serves it. */
export function buildApp({ scoreboard = createScoreboard(), env = process.env }: AppOptions = {}) {
  const app = new Hono();
  const channel = createExampleChannel(env);
  // Quickstart 2: GET /score streams the score every 3 seconds to at most 100 clients.
  const score = sse({
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => scoreboard.emitScore(), 3000)),
    maxConnections: 100,
  });
  // Push: GET /events streams the channel that POST /publish publishes to.
  const events = sse(eventsStreamOptions(channel, env));
  // Quickstart 1: GET <route>?stream=true streams that route's body once a second (10 streams at most).
  const polling = sse({ app });
  app.use(score, events, polling);

  const posts = createPostStreams(env);
  // POST /v1/chat/completions: the OpenAI Chat Completions API with the `echo` model.
  const completions = sseRoute(posts.completions);
  // POST /chat starts a resumable generation; GET /chat/:id/stream resumes it after Last-Event-ID.
  const chatStart = sseRoute(posts.chatStart);
  const chatResume = sseRoute(posts.chatResume);
  app.post('/v1/chat/completions', completions);
  app.post('/chat', chatStart);
  app.get('/chat/:id/stream', chatResume);
  // GET /private/events: a user's own stream (a JWT, a session cookie or a ticket); the private
  // POST routes issue tickets, publish to one user and kick one.
  const privates = createPrivateStreams(env);
  const privateEvents = sseRoute(privates.events);
  app.get('/private/events', privateEvents);
  for (const [path, privatePost] of privates.posts) {
    app.post(
      path,
      bodyLimit({
        maxSize: MAX_PUBLISH_BYTES,
        onError: (c) => c.json({ error: `the body is over ${MAX_PUBLISH_BYTES} bytes` }, 413),
      }),
      async (c) => {
        const answer = await privatePost((name) => c.req.header(name), await c.req.text());
        return c.json(answer.body, answer.status as ContentfulStatusCode, answer.headers);
      },
    );
  }
  app.post('/chat/:id/stop', async (c) => {
    const { status, body } = await posts.stop(c.req.path);
    return c.body(JSON.stringify(body), status as ContentfulStatusCode, {
      'Content-Type': 'application/json',
    });
  });

  // The app's routes without streaming: what a user already has.
  app.get('/', (c) => c.json(echoRequest(c.req.method, c.req.url, c.req.raw.headers)));
  app.get('/app/metrics', (c) =>
    c.json(
      processMetrics(
        {
          polling: polling.engine.stats(),
          score: score.engine.stats(),
          events: events.engine.stats(),
          channel: channel.stats(),
          private: privateEvents.engine.stats(),
          privateChannel: privates.stats(),
        },
        posts.generations(),
      ),
    ),
  );
  // GET /dashboard: the live dashboard (and its /dashboard.js and /dashboard.css), which plots
  // what GET /app/metrics?stream=true streams.
  for (const path of DASHBOARD_PATHS) {
    app.get(path, (c) => {
      const { status, headers, body } = dashboardAsset(path)!;
      return c.body(body, status as ContentfulStatusCode, headers);
    });
  }
  app.post(
    '/publish',
    bodyLimit({
      maxSize: MAX_PUBLISH_BYTES,
      onError: (c) => c.json({ error: `the body is over ${MAX_PUBLISH_BYTES} bytes` }, 413),
    }),
    async (c) => {
      const answer = await publishRequest(
        channel,
        await c.req.text(),
        c.req.header('Content-Type'),
      );
      return c.json(answer.body, answer.status);
    },
  );
  app.all('/publish', (c) => c.json({ error: 'use POST' }, 405));

  return Object.assign(app, {
    /** Ends every stream gracefully (a final event and a retry hint), before the server closes. */
    closeStreams: async () => {
      await Promise.all(
        [score, events, polling, completions, chatStart, chatResume, privateEvents].map((layer) =>
          layer.close({ timeout: 2000 }),
        ),
      );
    },
  });
}
