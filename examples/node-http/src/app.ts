import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { sseMiddleware, sseRoute } from '@sse-middleware/node-http';

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
) {
  if (res.destroyed) return;
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A request header as the kit reads it: several values joined. */
const headerOf =
  (req: IncomingMessage) =>
  (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };

export interface AppOptions {
  scoreboard?: Scoreboard;
  env?: NodeJS.ProcessEnv;
}

/** The example app as a node:http request listener; `main.ts` only listens. */
export function buildApp({ scoreboard = createScoreboard(), env = process.env }: AppOptions = {}) {
  const channel = createExampleChannel(env);
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

  /** The app without streaming: what a user already has. */
  async function handler(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/publish') {
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST' });
      const read = await readBody(req as AsyncIterable<Uint8Array>);
      const answer =
        'text' in read
          ? await publishRequest(channel, read.text, req.headers['content-type'])
          : read.answer;
      return answer && sendJson(res, answer.status, answer.body);
    }
    if (path === '/private/events' && req.method === 'GET') return privateEvents(req, res);
    const privatePost = privates.posts.get(path);
    if (privatePost && req.method === 'POST') {
      const read = await readBody(req as AsyncIterable<Uint8Array>);
      const answer: PrivateAnswer | null =
        'text' in read ? await privatePost(headerOf(req), read.text) : read.answer;
      return answer && sendJson(res, answer.status, answer.body, answer.headers);
    }
    if (path === '/v1/chat/completions' && req.method === 'POST') return completions(req, res);
    if (path === '/chat' && req.method === 'POST') return chatStart(req, res);
    if (/^\/chat\/[^/]+\/stream$/.test(path) && req.method === 'GET') return chatResume(req, res);
    if (/^\/chat\/[^/]+\/stop$/.test(path) && req.method === 'POST') {
      const { status, body } = await posts.stop(path);
      return sendJson(res, status, body);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendJson(res, 405, { error: 'method not allowed' });
    // GET /dashboard: the live dashboard (and its /dashboard.js and /dashboard.css), which plots
    // what GET /app/metrics?stream=true streams.
    const dashboard = dashboardAsset(path);
    if (dashboard) {
      res.writeHead(dashboard.status, dashboard.headers);
      return res.end(dashboard.body);
    }
    if (path === '/')
      return sendJson(
        res,
        200,
        echoRequest(req.method, req.url ?? '/', Object.entries(req.headers)),
      );
    if (path === '/app/metrics') {
      return sendJson(
        res,
        200,
        processMetrics(
          {
            polling: withStreams.engine.stats(),
            score: withScore.engine.stats(),
            events: withEvents.engine.stats(),
            channel: channel.stats(),
            private: privateEvents.engine.stats(),
            privateChannel: privates.stats(),
          },
          posts.generations(),
        ),
      );
    }
    return sendJson(res, 404, { error: 'not found' });
  }

  // Quickstart 1: GET <route>?stream=true streams that route's body once a second (10 streams at most).
  const withStreams = sseMiddleware(handler);
  // Quickstart 2: GET /score streams the score every 3 seconds to at most 100 clients.
  const withScore = sseMiddleware(withStreams, {
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => scoreboard.emitScore(), 3000)),
    maxConnections: 100,
  });
  // Push: GET /events streams the channel that POST /publish publishes to.
  const withEvents = sseMiddleware(withScore, eventsStreamOptions(channel, env));
  return Object.assign(withEvents, {
    /** Ends every stream gracefully (a final event and a retry hint), before the server closes. */
    closeStreams: async () => {
      await Promise.all(
        [withEvents, withScore, withStreams, completions, chatStart, chatResume, privateEvents].map(
          (layer) => layer.close({ timeout: 2000 }),
        ),
      );
    },
  });
}
