import { requestTarget } from '@sse-middleware/core';
import {
  type InnerHandler,
  markPoll,
  pollHeaders,
  withPollSignal,
} from '@sse-middleware/core/adapter';
import type { Context, ExecutionContext } from 'hono';

/** What the default chunk generator polls: a Hono app, or anything with Hono's `fetch` signature. */
export interface FetchApp {
  fetch(
    request: Request,
    env?: unknown,
    executionCtx?: ExecutionContext,
  ): Response | Promise<Response>;
}

/**
 * The default chunk generator's inner handler: sends `GET <matched path>?<query>` through `app.fetch`
 * in memory, with the client's headers, bindings and execution context, and returns the status and
 * body the app answered. Each poll request is marked (`markPoll`), so that every `sse()` of the app
 * passes it downstream instead of streaming it again. Aborting the stream aborts the poll.
 */
export function pollApp(app: FetchApp): InnerHandler {
  return async (req, { signal }) => {
    const c = req.raw;
    if (!isContext(c)) {
      throw new TypeError(
        `The default chunkGenerator needs the Hono context as the matched request's raw, received ${c === null ? 'null' : typeof c}: a requestMatcher that rewrites the request must keep raw`,
      );
    }
    const headers = pollHeaders(Object.fromEntries(c.req.raw.headers));
    return withPollSignal(signal, async (pollSignal) => {
      const poll = new Request(new URL(requestTarget(req), c.req.url), {
        method: 'GET',
        headers,
        signal: pollSignal,
      });
      markPoll(poll);
      const response = await app.fetch(poll, pollBindings(c.env), executionContextOf(c));
      return { status: response.status, body: await response.text() };
    });
  };
}

function isContext(value: unknown): value is Context {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<Context>).req?.raw === 'object'
  );
}

/**
 * The stream's bindings for the poll. On @hono/node-server they hold the live Node response of the
 * stream (`outgoing`), which no handler answering the poll may write to, so the poll gets them
 * without it.
 */
function pollBindings(env: unknown): unknown {
  if (typeof env === 'object' && env !== null && 'outgoing' in env) {
    return { ...env, outgoing: undefined };
  }
  return env;
}

/** Hono's `c.executionCtx` throws where the runtime gives none (Node, Bun, Deno). */
function executionContextOf(c: Context): ExecutionContext | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  }
}
