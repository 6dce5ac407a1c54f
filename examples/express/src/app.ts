import { uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createExampleChannel,
  createPostStreams,
  createPrivateStreams,
  createScoreboard,
  dashboardAsset,
  echoRequest,
  eventsStreamOptions,
  MAX_PUBLISH_BYTES,
  processMetrics,
  publishRequest,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import { sse, sseRoute } from '@sse-middleware/express';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';

export interface AppOptions {
  scoreboard?: Scoreboard;
  env?: NodeJS.ProcessEnv;
}

/** Bodies as text, whatever their `Content-Type`, within the kit's limit (a 413 beyond it). */
const text = express.text({ type: () => true, limit: MAX_PUBLISH_BYTES });

/** What `text` read: `''` for a request without a body. */
const bodyText = (req: Request): string => (typeof req.body === 'string' ? req.body : '');

/** The example's Express app, with `closeStreams()` to end every stream before the server closes. */
export type ExampleApp = express.Express & { closeStreams(): Promise<void> };

/** The example app; `main.ts` only listens. */
export function buildApp({
  scoreboard = createScoreboard(),
  env = process.env,
}: AppOptions = {}): ExampleApp {
  const app = express();
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

  // Every sse() comes before the routes: Express runs middleware in order, and a route that
  // answers ends the request there.
  app.use(score, events, polling);

  // The route reads its own body, so that a malformed one gets an OpenAI-style 400.
  app.post('/v1/chat/completions', completions);
  // express.json() reads this one first: the route streams from req.body.
  app.post('/chat', express.json({ limit: '64kb' }), chatStart);
  app.get('/chat/:id/stream', chatResume);
  app.post('/chat/:id/stop', async (req, res) => {
    const { status, body } = await posts.stop(req.path);
    res.status(status).json(body);
  });

  const privateRoutes = express.Router();
  privateRoutes.get('/events', privateEvents);
  privateRoutes.post('/:route', text, async (req, res, next) => {
    const post = privates.posts.get(`${req.baseUrl}${req.path}`);
    if (!post) return next();
    const answer = await post((name) => req.get(name), bodyText(req));
    res
      .status(answer.status)
      .set(answer.headers ?? {})
      .json(answer.body);
  });
  app.use('/private', privateRoutes);

  app.post('/publish', text, async (req, res) => {
    const answer = await publishRequest(channel, bodyText(req), req.get('Content-Type'));
    res.status(answer.status).json(answer.body);
  });
  app.all('/publish', (_req, res) => {
    res.status(405).json({ error: 'use POST' });
  });

  app.get('/', (req, res) => {
    res.json(echoRequest(req.method, req.originalUrl, Object.entries(req.headers)));
  });
  app.get('/app/metrics', (_req, res) => {
    res.json(
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
    );
  });
  app.use(dashboard);
  app.use((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.status(405).json({ error: 'method not allowed' });
    } else {
      res.status(404).json({ error: 'not found' });
    }
  });
  app.use(bodyErrors);

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

/** GET /dashboard: the live dashboard (and its /dashboard.js and /dashboard.css), plotting /app/metrics?stream=true. */
const dashboard: RequestHandler = (req, res, next) => {
  const answer =
    req.method === 'GET' || req.method === 'HEAD' ? dashboardAsset(req.path) : undefined;
  if (!answer) return next();
  res.status(answer.status).set(answer.headers).end(answer.body);
};

/**
 * What `express.text()` and `express.json()` refuse (a body past the limit, malformed JSON, a body
 * cut short), as a JSON `{ error }` with their status; anything else is a 500.
 */
const bodyErrors: ErrorRequestHandler = (error, _req, res, next) => {
  if (res.headersSent) return next(error);
  if (res.destroyed) return; // the client left mid-body: nothing to answer
  const { status, type, limit } = error as { status?: unknown; type?: unknown; limit?: unknown };
  if (typeof status !== 'number' || status < 400 || status > 499 || typeof type !== 'string') {
    console.error(error);
    res.status(500).json({ error: 'internal server error' });
    return;
  }
  const message = status === 413 ? `the body is over ${limit} bytes` : (error as Error).message;
  res.status(status).json({ error: message });
};
