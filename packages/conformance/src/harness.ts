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
 * - anything else: 200, `application/json`, body {@link EchoBody} (for every method).
 *
 * Every fixture answers through {@link innerResponse}, which counts what it answers by path, so a
 * test can tell whether the inner app ran for a request ({@link innerRequestCount}).
 */
export interface ConformanceHarness {
  /** The adapter's name as shown in test titles, e.g. `node-http`. */
  readonly name: string;
  start(options: SseOptions, fixture?: FixtureOptions): Promise<ConformanceServer>;
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
}

/** A capability is `true`, or the reason why this server cannot do it. */
export interface Capabilities {
  corsPlugin?: true | string;
  failingUpstream?: true | string;
  /** The server returned by `start()` offers `shutdownStreams()`. */
  gracefulShutdown?: true | string;
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

/** How many requests for `path` the inner app has answered (in this process): 0 means it never ran. */
export function innerRequestCount(path: string): number {
  return innerRequests.get(path) ?? 0;
}

/** The inner app's answer, shared so that every adapter's fixture answers alike. */
export function innerResponse(
  method: string,
  path: string,
  query: string,
): { status: number; contentType: string; body: string } {
  innerRequests.set(path, innerRequestCount(path) + 1);
  if (path === '/throw') throw new Error('inner failure');
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status)
    return { status: Number(status[1]), contentType: 'text/plain', body: `status ${status[1]}` };
  if (path === '/empty') return { status: 200, contentType: 'text/plain', body: '' };
  if (path === '/text')
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: MULTIBYTE_TEXT };
  const echo: EchoBody = { method, path, query, now: Date.now() };
  return { status: 200, contentType: 'application/json', body: JSON.stringify(echo) };
}
