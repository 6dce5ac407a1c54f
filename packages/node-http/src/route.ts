import type { SseRouteOptions, StreamInit } from '@sse-middleware/core';
import {
  attachHandle,
  createRequestView,
  createSseEngine,
  refusePipelined,
  type SseHandler,
} from '@sse-middleware/core/adapter';
import { createNodeResponseSink, nodeBodySource } from '@sse-middleware/core/node';
import type { NodeRequest, NodeResponse } from './index.js';

/**
 * What {@link sseRoute} returns: a route handler that streams every request it is given, with
 * `respond()` to stream from a handler of your own, and the core's `engine` and graceful `close()`.
 */
export type NodeSseRoute<
  Req extends NodeRequest = NodeRequest,
  Res extends NodeResponse = NodeResponse,
> = SseHandler<(req: Req, res: Res, next?: (error?: unknown) => void) => void> & {
  /**
   * Streams `res` with this route's options and `init` (its own `source`, `body`, `endEvent`).
   * Resolves once the stream has ended (or the request was answered without one). Never rejects.
   */
  respond(req: Req, res: Res, init?: StreamInit): Promise<void>;
};

/**
 * A route handler that answers every request it gets with a stream: for a POST that starts one
 * stream for one client (an LLM completion, an MCP call), on node:http or as an Express route.
 * The body is read as `options.body` says (`req.body` when `express.json()` or another parser
 * already read it) and reaches the source as `ctx.body`.
 *
 * ```ts context=express-app
 * import { sseRoute } from '@sse-middleware/node-http';
 *
 * const completions = sseRoute({
 *   body: 'json',
 *   endEvent: { data: '[DONE]' },
 *   source: async function* (_req, ctx) {
 *     const { prompt } = ctx.body as { prompt: string };
 *     for (const word of prompt.split(' ')) yield { data: JSON.stringify({ word }) };
 *   },
 * });
 * app.post('/v1/completions', completions); // Express; or in a node:http listener: completions(req, res)
 * ```
 */
export function sseRoute<
  Req extends NodeRequest = NodeRequest,
  Res extends NodeResponse = NodeResponse,
>(options: SseRouteOptions = {}): NodeSseRoute<Req, Res> {
  const engine = createSseEngine(options, { route: true });

  const respond = (req: Req, res: Res, init?: StreamInit): Promise<void> => {
    // Pipelined behind an open stream on this connection: run nothing, close the connection.
    if (refusePipelined(req.socket)) return Promise.resolve();
    const parsed = (req as { body?: unknown }).body;
    const view = createRequestView({
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      raw: req,
      body: parsed === undefined ? nodeBodySource(req) : { parsed },
    });
    return engine.serve(view, createNodeResponseSink(res), init);
  };
  const handler = (req: Req, res: Res): void => {
    void respond(req, res);
  };
  return Object.assign(attachHandle(handler, engine), { respond });
}
