import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createExampleChannel,
  createPostStreams,
  createPrivateStreams,
  createScoreboard,
  dashboardAsset,
  echoRequest,
  eventsStreamOptions,
  type PrivateAnswer,
  processMetrics,
  publishRequest,
  readBody,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import { sse, sseRoute } from '@sse-middleware/koa';
import Koa from 'koa';

export interface AppOptions {
  scoreboard?: Scoreboard;
  env?: NodeJS.ProcessEnv;
}

/** The example app; `main.ts` only listens. */
export function buildApp({ scoreboard = createScoreboard(), env = process.env }: AppOptions = {}) {
  const app = new Koa();
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
  const polling = sse();

  const posts = createPostStreams(env);
  // POST /v1/chat/completions: the OpenAI Chat Completions API with the `echo` model.
  const completions = sseRoute(posts.completions);
  // POST /chat starts a resumable generation; GET /chat/:id/stream resumes it after Last-Event-ID.
  const chatStart = sseRoute(posts.chatStart);
  const chatResume = sseRoute(posts.chatResume);
  // GET /private/events: a user's own stream (a JWT, a session cookie or a ticket); the private
  // POST routes issue tickets, publish to one user and kick one.
  const privates = createPrivateStreams(env);
  const privateEvents = sseRoute(privates.events);

  /** The app's routes without streaming: what a user already has. */
  const routes: Koa.Middleware = async (ctx, next) => {
    const privatePost = privates.posts.get(ctx.path);
    if (ctx.path === '/private/events' && ctx.method === 'GET') {
      await privateEvents(ctx, next);
    } else if (privatePost && ctx.method === 'POST') {
      const read = await readBody(ctx.req);
      const answer: PrivateAnswer | null =
        'text' in read
          ? await privatePost((name) => ctx.get(name) || undefined, read.text)
          : read.answer;
      if (!answer) {
        ctx.respond = false; // the client has gone
        return;
      }
      ctx.set(answer.headers ?? {});
      ctx.status = answer.status;
      ctx.body = answer.body;
    } else if (ctx.path === '/v1/chat/completions' && ctx.method === 'POST') {
      await completions(ctx, next);
    } else if (ctx.path === '/chat' && ctx.method === 'POST') {
      await chatStart(ctx, next);
    } else if (/^\/chat\/[^/]+\/stream$/.test(ctx.path) && ctx.method === 'GET') {
      await chatResume(ctx, next);
    } else if (/^\/chat\/[^/]+\/stop$/.test(ctx.path) && ctx.method === 'POST') {
      const { status, body } = await posts.stop(ctx.path);
      ctx.status = status;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(body);
    } else if (ctx.path === '/publish') {
      if (ctx.method !== 'POST') {
        ctx.status = 405;
        ctx.body = { error: 'use POST' };
        return;
      }
      const read = await readBody(ctx.req);
      const answer =
        'text' in read
          ? await publishRequest(channel, read.text, ctx.get('Content-Type') || undefined)
          : read.answer;
      if (!answer) {
        ctx.respond = false; // the client has gone
        return;
      }
      ctx.status = answer.status;
      ctx.body = answer.body;
    } else if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.status = 405;
      ctx.body = { error: 'method not allowed' };
    } else if (ctx.path === '/') {
      ctx.body = echoRequest(ctx.method, ctx.url, Object.entries(ctx.headers));
    } else if (ctx.path === '/app/metrics') {
      ctx.body = processMetrics(
        {
          polling: polling.engine.stats(),
          score: score.engine.stats(),
          events: events.engine.stats(),
          channel: channel.stats(),
          private: privateEvents.engine.stats(),
          privateChannel: privates.stats(),
        },
        posts.generations(),
      );
    } else {
      ctx.status = 404;
      ctx.body = { error: 'not found' };
    }
  };

  // GET /dashboard: the live dashboard (and its /dashboard.js and /dashboard.css), which plots
  // what GET /app/metrics?stream=true streams.
  const dashboard: Koa.Middleware = async (ctx, next) => {
    const answer =
      ctx.method === 'GET' || ctx.method === 'HEAD' ? dashboardAsset(ctx.path) : undefined;
    if (!answer) return next();
    ctx.status = answer.status;
    ctx.set(answer.headers);
    ctx.body = answer.body;
  };

  app.use(score);
  app.use(events);
  app.use(polling);
  app.use(dashboard);
  app.use(routes);
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
