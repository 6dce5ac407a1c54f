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
import { sse } from '@sse-middleware/hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';

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

  // The app's routes without streaming: what a user already has.
  app.get('/', (c) => c.json(echoRequest(c.req.method, c.req.url, c.req.raw.headers)));
  app.get('/app/metrics', (c) =>
    c.json(
      processMetrics({
        polling: polling.engine.stats(),
        score: score.engine.stats(),
        events: events.engine.stats(),
        channel: channel.stats(),
      }),
    ),
  );
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
      await Promise.all([score, events, polling].map((layer) => layer.close({ timeout: 2000 })));
    },
  });
}
