import type { SseSink } from '@sse-middleware/core/adapter';
import { createNodeResponseSink } from '@sse-middleware/core/node';
import type { FastifyReply } from 'fastify';

/**
 * Takes the response away from Fastify and returns a sink over the raw one. Hijacking skips the
 * onSend hooks that would write the headers set with `reply.header()` (by @fastify/cors, say), so
 * they are moved to the raw response first; the SSE headers are written over them.
 */
export function hijackForStream(reply: FastifyReply): SseSink {
  reply.hijack();
  const raw = reply.raw;
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    // A stream has no length; a Content-Length set early would cut it short.
    if (value === undefined || name === 'content-length') continue;
    raw.setHeader(name, value);
  }
  return createNodeResponseSink(raw);
}
