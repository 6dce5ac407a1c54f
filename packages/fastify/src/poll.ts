import { Readable } from 'node:stream';
import { requestTarget } from '@sse-middleware/core';
import { type InnerHandler, isPoll, markPoll, pollHeaders } from '@sse-middleware/core/adapter';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const STREAM_SIGNAL: unique symbol = Symbol('sse-middleware stream signal');

/**
 * What every request injected by the default chunk generator inherits from (light-my-request's
 * `Request` option, the only handle on the raw request `fastify.inject` makes: light-my-request
 * copies the class's prototype and never calls its constructor). It carries the signal of the
 * stream the poll is for. Only this module makes such classes, so no client can pass for a poll.
 */
abstract class PollRequest extends Readable {
  /** Aborts when the stream this poll is for ends. */
  abstract readonly [STREAM_SIGNAL]: AbortSignal;
}

function pollRequestClass(signal: AbortSignal) {
  return class extends PollRequest {
    get [STREAM_SIGNAL]() {
      return signal;
    }
  };
}

/**
 * When `request` is a poll injected by the default chunk generator, the signal of the stream it is
 * for; else `undefined`. Every SSE hook lets polls through: streaming one would never end the
 * in-memory response the generator waits for.
 */
export function streamSignalOf(request: FastifyRequest): AbortSignal | undefined {
  const raw = request.raw;
  if (!(raw instanceof PollRequest)) return undefined;
  // The first SSE hook to see the poll marks it with the core's marker (no constructor runs
  // earlier), so that anything else honouring `isPoll` passes it on too.
  if (!isPoll(raw)) markPoll(raw);
  return raw[STREAM_SIGNAL];
}

/**
 * Ends a poll when its stream ends, the way a client disconnect ends a real request: the request
 * closes (so `request.signal` aborts) without an error. inject's own `signal` option destroys it
 * with an AbortError instead, which Fastify logs as "request errored".
 */
export function endPollWithStream(
  signal: AbortSignal,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const end = () => {
    request.raw.destroy();
  };
  if (signal.aborted) {
    end();
    return;
  }
  signal.addEventListener('abort', end, { once: true });
  reply.raw.once('close', () => signal.removeEventListener('abort', end));
}

/**
 * Runs the app's own route for the matching request with `fastify.inject`: method GET, the matching
 * request's path and query, the original headers (asking for an identity encoding: a compressor
 * must leave the body it reads as text alone) and client address.
 */
export function injectRoute(fastify: FastifyInstance): InnerHandler {
  return async (req, ctx) => {
    const original = req.raw as FastifyRequest | undefined;
    const response = await fastify.inject({
      method: 'GET',
      url: requestTarget(req),
      headers: pollHeaders(original?.headers),
      remoteAddress: original?.socket.remoteAddress,
      Request: pollRequestClass(ctx.signal),
    });
    return { status: response.statusCode, body: response.payload };
  };
}
