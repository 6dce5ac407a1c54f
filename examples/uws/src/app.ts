import uWS from 'uWebSockets.js';
import { STATUS_CODES } from 'node:http';
import { requestTarget, uriMatch, wrapDelay, wrapSseEvent } from '@sse-middleware/core';
import {
  createExampleChannel,
  createPostStreams,
  createPrivateStreams,
  createScoreboard,
  type DashboardAnswer,
  dashboardAsset,
  echoRequest,
  eventsStreamOptions,
  MAX_PUBLISH_BYTES,
  type PrivatePost,
  processMetrics,
  publishRequest,
  type Scoreboard,
} from '@sse-middleware/example-kit';
import { guardFraming, sse, sseRoute, type UwsRequestCopy } from '@sse-middleware/uws';

interface Reply {
  status: number;
  body: unknown;
  headers?: Readonly<Record<string, string>>;
}

function send(res: uWS.HttpResponse, { status, body, headers }: Reply, method = 'GET'): void {
  res.writeStatus(`${status} ${STATUS_CODES[status]}`);
  for (const [name, value] of Object.entries(headers ?? {})) res.writeHeader(name, value);
  res.writeHeader('Content-Type', 'application/json');
  if (method === 'HEAD') res.endWithoutBody();
  else res.end(JSON.stringify(body));
}

/** A kit answer that is not JSON (the dashboard's page, script and styles), as it is. */
function sendAsIs(
  res: uWS.HttpResponse,
  { status, headers, body }: DashboardAnswer,
  method: string,
) {
  res.writeStatus(`${status} ${STATUS_CODES[status]}`);
  for (const [name, value] of Object.entries(headers)) res.writeHeader(name, value);
  if (method === 'HEAD') res.endWithoutBody();
  else res.end(body);
}

/** The request body as UTF-8 text, or `undefined` when it is over {@link MAX_PUBLISH_BYTES}. */
function readBody(res: uWS.HttpResponse): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      // uWS reuses `chunk` once this callback returns: copy it.
      if (size <= MAX_PUBLISH_BYTES) chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) resolve(size > MAX_PUBLISH_BYTES ? undefined : Buffer.concat(chunks).toString());
    });
  });
}

export interface AppOptions {
  scoreboard?: Scoreboard;
  env?: NodeJS.ProcessEnv;
}

/** The example app; `main.ts` only listens. */
export function buildApp({ scoreboard = createScoreboard(), env = process.env }: AppOptions = {}) {
  const channel = createExampleChannel(env);
  const posts = createPostStreams(env);

  /** The app without streaming, as a plain function: the uWS routes answer with it, and so do streams. */
  function route(method: string, url: string, headers: Readonly<Record<string, string>>): Reply {
    const { pathname } = new URL(url, 'http://localhost');
    if (pathname === '/publish') return { status: 405, body: { error: 'use POST' } };
    if (method !== 'GET' && method !== 'HEAD') {
      return { status: 405, body: { error: 'method not allowed' } };
    }
    if (pathname === '/') {
      return { status: 200, body: echoRequest(method, url, Object.entries(headers)) };
    }
    if (pathname === '/app/metrics') {
      const sse = {
        polling: streams.engine.stats(),
        score: scores.engine.stats(),
        events: events.engine.stats(),
        channel: channel.stats(),
        private: privateEvents.engine.stats(),
        privateChannel: privates.stats(),
      };
      return { status: 200, body: processMetrics(sse, posts.generations()) };
    }
    return { status: 404, body: { error: 'not found' } };
  }

  /** `POST /publish`: reads the body (within {@link MAX_PUBLISH_BYTES}) and publishes it. */
  async function publish(res: uWS.HttpResponse, contentType: string): Promise<Reply> {
    const body = await readBody(res);
    if (body === undefined) {
      return { status: 413, body: { error: `the body is over ${MAX_PUBLISH_BYTES} bytes` } };
    }
    try {
      return await publishRequest(channel, body, contentType);
    } catch (error) {
      console.error('[uws example] publish failed:', error);
      return { status: 500, body: { error: 'internal server error' } };
    }
  }

  /** A private POST route: reads the body (within {@link MAX_PUBLISH_BYTES}), the kit answers. */
  function privateRoute(post: PrivatePost) {
    return guardFraming((res: uWS.HttpResponse, req: uWS.HttpRequest) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      // The request is only valid while this handler runs: copy its headers before any await.
      const headers = new Map<string, string>();
      req.forEach((key, value) => {
        const seen = headers.get(key);
        headers.set(key, seen === undefined ? value : `${seen}, ${value}`);
      });
      void readBody(res)
        .then((body): Promise<Reply> | Reply =>
          body === undefined
            ? { status: 413, body: { error: `the body is over ${MAX_PUBLISH_BYTES} bytes` } }
            : post((name) => headers.get(name), body),
        )
        .then((reply) => {
          if (!aborted) res.cork(() => send(res, reply));
        });
    });
  }

  // Quickstart 1: GET <route>?stream=true streams that route's body once a second (10 streams at most).
  const streams = sse({
    handler: (req) => {
      const { status, body } = route(
        req.method,
        requestTarget(req),
        (req.raw as UwsRequestCopy).headers,
      );
      return { status, body: JSON.stringify(body) };
    },
  });
  // Quickstart 2: GET /score streams the score every 3 seconds to at most 100 clients.
  const scores = sse({
    requestMatcher: uriMatch('/score'),
    chunkGenerator: wrapSseEvent(wrapDelay(() => scoreboard.emitScore(), 3000)),
    maxConnections: 100,
  });
  // Push: GET /events streams the channel that POST /publish publishes to.
  const events = sse(eventsStreamOptions(channel, env));
  // POST /v1/chat/completions: the OpenAI Chat Completions API with the `echo` model.
  const completions = sseRoute(posts.completions);
  // POST /chat starts a resumable generation; GET /chat/:id/stream resumes it after Last-Event-ID.
  const chatStart = sseRoute(posts.chatStart);
  const chatResume = sseRoute(posts.chatResume);
  // GET /private/events: a user's own stream (a JWT, a session cookie or a ticket); the private
  // POST routes issue tickets, publish to one user and kick one.
  const privates = createPrivateStreams(env);
  const privateEvents = sseRoute(privates.events);

  const app = uWS
    .App()
    // uWS tries a static pattern before `/*`, and a method before `any`: each SSE handler sees its
    // GETs first and yields the rest to the plain routes below.
    .get('/score', scores)
    .get('/events', events)
    .get('/private/events', privateEvents)
    .get('/*', streams)
    // Streaming routes: each streams every request it gets (a parameter pattern, like a static
    // one, goes before `/*`). They refuse ambiguous framing themselves.
    .post('/v1/chat/completions', completions)
    .post('/chat', chatStart)
    .get('/chat/:id/stream', chatResume)
    .post(
      '/chat/:id/stop',
      guardFraming((res, req) => {
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        // The request is only valid while this handler runs: copy the path before any await.
        const path = req.getUrl();
        void posts.stop(path).then(
          (reply) => {
            if (!aborted) res.cork(() => send(res, reply));
          },
          (error: unknown) => {
            console.error('[uws example] stop failed:', error);
            if (!aborted) {
              res.cork(() => send(res, { status: 500, body: { error: 'internal server error' } }));
            }
          },
        );
      }),
    )
    // uWS runs one handler per request, with nothing in front: every route refuses ambiguous
    // framing (two Content-Lengths, a Transfer-Encoding other than chunked) before it reads
    // anything, as the sse() handlers above do, so no request hidden in a body ever runs.
    .post(
      '/publish',
      guardFraming((res, req) => {
        let aborted = false;
        res.onAborted(() => {
          aborted = true;
        });
        const contentType = req.getHeader('content-type');
        void publish(res, contentType).then((reply) => {
          if (!aborted) res.cork(() => send(res, reply));
        });
      }),
    )
    .any(
      '/*',
      guardFraming((res, req) => {
        // getCaseSensitiveMethod() is lower-cased too once an earlier route has yielded (uWS v20.30).
        const method = req.getMethod().toUpperCase();
        // GET /dashboard: the live dashboard (and its /dashboard.js and /dashboard.css), which
        // plots what GET /app/metrics?stream=true streams.
        const dashboard =
          method === 'GET' || method === 'HEAD' ? dashboardAsset(req.getUrl()) : undefined;
        if (dashboard) return sendAsIs(res, dashboard, method);
        const query = req.getQuery();
        const headers: Record<string, string> = {};
        req.forEach((key, value) => {
          headers[key] = value;
        });
        send(
          res,
          route(method, query ? `${req.getUrl()}?${query}` : req.getUrl(), headers),
          method,
        );
      }),
    );
  // POST /private/ticket, /private/publish, /private/kick (uWS matches a static pattern first, in
  // whatever order the routes were added).
  for (const [path, post] of privates.posts) app.post(path, privateRoute(post));

  return {
    app,
    /** Ends every stream gracefully (a final event and a retry hint), before the app closes. */
    closeStreams: async () => {
      await Promise.all(
        [events, scores, streams, completions, chatStart, chatResume, privateEvents].map(
          (handler) => handler.close({ timeout: 2000 }),
        ),
      );
    },
  };
}
