import type { CloseOptions, SseOptions } from '@sse-middleware/core';

/**
 * What an adapter supplies to run the conformance suite: a way to start its server, on
 * 127.0.0.1 port 0, with the SSE middleware (built from `options`) in front of the inner app below.
 *
 * The inner app, written natively for each server, answers:
 * - `GET /status/<code>`: status `<code>`, `text/plain` body `status <code>`;
 * - `GET /empty`: 200, `text/plain`, empty body;
 * - `GET /text`: 200, `text/plain; charset=utf-8`, body {@link MULTIBYTE_TEXT};
 * - `GET /throw`: the handler throws `new Error('inner failure')`; the framework answers as it
 *   always does for an uncaught handler error (500 in every framework here);
 * - `GET /headers`: 200, `application/json`, the request's headers (names lower-cased; the
 *   fixture passes them to {@link innerResponse});
 * - `GET /slow`: answered through {@link innerSlowResponse}, only once the request is aborted
 *   (the fixture passes a promise that settles when it closes);
 * - anything else: 200, `application/json`, body {@link EchoBody} (for every method).
 *
 * Every fixture answers through {@link innerResponse}, which counts what it answers by path, so a
 * test can tell whether the inner app ran for a request ({@link innerRequestCount}).
 */
export interface ConformanceHarness {
  /** The adapter's name as shown in test titles, e.g. `node-http`. */
  readonly name: string;
  start(options: SseOptions, fixture?: FixtureOptions): Promise<ConformanceServer>;
  /**
   * Starts a server whose route `/route` (every method) is answered by the adapter's route-level
   * form, built from `options` in that framework's idiom (`sseRoute()`, Fastify's `reply.sse()`);
   * every other path is a 404. With `frameworkBody`, the framework's own body parser runs first
   * (capability `frameworkBody`).
   */
  startRoute(options: SseOptions, fixture?: RouteFixtureOptions): Promise<ConformanceServer>;
  /** What this server cannot do. Every missing capability names its reason; nothing is skipped silently. */
  readonly capabilities?: Capabilities;
}

/** Extra pieces of the framework to put around the SSE middleware for the cross-server cases. */
export interface FixtureOptions {
  /**
   * Put the framework's own CORS plugin in front of the SSE middleware (`@fastify/cors`,
   * `@koa/cors`, `hono/cors`, the `cors` package for node:http), allowing the origin {@link CORS_ORIGIN}.
   */
  cors?: boolean;
  /**
   * Put a middleware in front of the SSE middleware that throws *after* the SSE middleware has
   * taken the request (after `await next()` in Koa or Hono; in Fastify, a hook that still runs
   * after `reply.hijack()`: `onRequestAbort` or `onResponse`).
   */
  failingUpstream?: boolean;
  /**
   * Put a second SSE middleware, built from these options, between the SSE middleware and the inner
   * app (a second registration of the plugin in Fastify; for node:http, the inner listener wrapped
   * by it). A poll of the first must pass it and reach the inner app.
   */
  secondMiddleware?: SseOptions;
  /**
   * Put a middleware in front of the SSE middleware that hands every request's means of ending its
   * response to this callback, as a request-timeout middleware holds it: a function that ends the
   * response itself, whatever is writing it (`res.end()` for node:http and Express, `ctx.res.end()`
   * in Koa, `reply.raw.end()` in Fastify, `c.env.outgoing.end()` for Hono on Node, `res.end()` in
   * `res.cork()` on uWS).
   */
  endingUpstream?: (endResponse: () => void) => void;
}

export interface RouteFixtureOptions {
  /** Parse JSON bodies with the framework's own parser before the route runs. */
  frameworkBody?: boolean;
  /**
   * The framework's own auth runs before the route (a Fastify `onRequest` hook, Koa or Hono
   * middleware, Express-style middleware): {@link fixtureUser} of the `Authorization` header sets
   * the framework's user, a request without one is answered 401 by the framework itself, and the
   * route streams with `init.principal` set to that user (capability `frameworkAuth`).
   */
  frameworkAuth?: boolean;
}

/**
 * The user of the fixtures' framework auth: `Authorization: Bearer <lower-case name>` stands in
 * for a verified token.
 */
export function fixtureUser(
  authorization: string | undefined | null,
): { key: string; topics: string[] } | undefined {
  const match = /^Bearer ([a-z]+)$/.exec(authorization ?? '');
  return match ? { key: match[1]!, topics: [`user:${match[1]}`] } : undefined;
}

/** A capability is `true`, or the reason why this server cannot do it. */
export interface Capabilities {
  corsPlugin?: true | string;
  failingUpstream?: true | string;
  /** `start()` honours {@link FixtureOptions.endingUpstream}. */
  endingUpstream?: true | string;
  /** The server returned by `start()` offers `shutdownStreams()`. */
  gracefulShutdown?: true | string;
  /** The default poll is a request of its own, with the client's headers forwarded. */
  pollHeaders?: true | string;
  /** `start()` honours {@link FixtureOptions.secondMiddleware}. */
  secondMiddleware?: true | string;
  /** `startRoute()` honours {@link RouteFixtureOptions.frameworkBody}. */
  frameworkBody?: true | string;
  /** `startRoute()` honours {@link RouteFixtureOptions.frameworkAuth}. */
  frameworkAuth?: true | string;
  /** The server closes a connection whose request was pipelined behind an open stream. */
  closesPipelined?: true | string;
  /** The server refuses a request with the same `Content-Length` twice (RFC 9110 lets it merge them). */
  refusesRepeatedContentLength?: true | string;
}

export const CORS_ORIGIN = 'https://app.example';

/** What a fixture's `failingUpstream` middleware throws, so tests can tell it from other errors. */
export class UpstreamFailure extends Error {
  override name = 'UpstreamFailure';
}

export interface ConformanceServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Stops the server and destroys every open connection. */
  close(): Promise<void>;
  /** The adapter's graceful shutdown of the SSE streams (its `close()`), with the server still up. */
  shutdownStreams?(options?: CloseOptions): Promise<void>;
}

/** The JSON the inner app answers with: what the handler saw. */
export interface EchoBody {
  method: string;
  path: string;
  query: string;
  now: number;
}

export const MULTIBYTE_TEXT = 'héllo wörld ✓ 😀 𝄞 日本語';

const innerRequests = new Map<string, number>();
let slowAborts = 0;

/** How many requests for `path` the inner app has answered (in this process): 0 means it never ran. */
export function innerRequestCount(path: string): number {
  return innerRequests.get(path) ?? 0;
}

/** How many `GET /slow` requests the inner app saw aborted before it answered (in this process). */
export function innerAbortCount(): number {
  return slowAborts;
}

/** What the inner app answers. */
export interface InnerAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** A request's headers as a framework hands them over. */
export type InnerHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The inner app's answer, shared so that every adapter's fixture answers alike. */
export function innerResponse(
  method: string,
  path: string,
  query: string,
  headers: InnerHeaders = {},
): InnerAnswer {
  innerRequests.set(path, innerRequestCount(path) + 1);
  if (path === '/throw') throw new Error('inner failure');
  if (path === '/headers') {
    const seen = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
    );
    return { status: 200, contentType: 'application/json', body: JSON.stringify(seen) };
  }
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status)
    return { status: Number(status[1]), contentType: 'text/plain', body: `status ${status[1]}` };
  if (path === '/empty') return { status: 200, contentType: 'text/plain', body: '' };
  if (path === '/text')
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: MULTIBYTE_TEXT };
  const echo: EchoBody = { method, path, query, now: Date.now() };
  return { status: 200, contentType: 'application/json', body: JSON.stringify(echo) };
}

/**
 * The inner app's `GET /slow`: counted like any request, it answers only once `closed` settles (the
 * fixture's sign that the request was aborted, whether it resolves or rejects), or after 10 s; an abort is counted
 * ({@link innerAbortCount}).
 */
export async function innerSlowResponse(closed: Promise<unknown>): Promise<InnerAnswer> {
  innerRequests.set('/slow', innerRequestCount('/slow') + 1);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), 10_000);
  });
  const aborted = closed.then(
    () => 'aborted' as const,
    () => 'aborted' as const, // destroyed with an error (an AbortError) is aborted too
  );
  const outcome = await Promise.race([aborted, late]);
  clearTimeout(timer);
  if (outcome === 'aborted') slowAborts += 1;
  return { status: 200, contentType: 'text/plain', body: outcome };
}
