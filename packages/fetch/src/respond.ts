import type { SseAnswer, SseEngine, SseRequest, StreamInit } from '@sse-middleware/core';
import {
  createWebStreamSink,
  isBunServer,
  markStreamSocket,
  refusePipelined,
  type StreamSocketLike,
} from '@sse-middleware/core/adapter';

/**
 * On Node behind a Fetch bridge that passes the Node request as `incoming` (`@hono/node-server`
 * does), the HTTP/1.1 connection: a request pipelined behind an open stream on it is refused.
 */
function nodeSocketOf(runtimeArgument: unknown): (StreamSocketLike & object) | undefined {
  const incoming = (
    runtimeArgument as { incoming?: { socket?: unknown; httpVersionMajor?: number } }
  )?.incoming;
  const socket = incoming?.socket;
  if (incoming?.httpVersionMajor !== 1 || typeof socket !== 'object' || socket === null)
    return undefined;
  return typeof (socket as Partial<StreamSocketLike>).destroy === 'function'
    ? (socket as StreamSocketLike & object)
    : undefined;
}

/**
 * A request pipelined behind an open stream on its connection (on Node, see {@link nodeSocketOf}):
 * the connection is closed, ending that stream, and nothing runs. `undefined` for any other.
 */
export function refusePipelinedRequest(runtimeArgument: unknown): Response | undefined {
  return refusePipelined(nodeSocketOf(runtimeArgument))
    ? new Response(null, { status: 400 })
    : undefined;
}

/** An answer sent instead of a stream (a refused body, `options.answer`, a refusal). */
export function answerResponse(answer: SseAnswer): Response {
  const { body } = answer;
  return new Response(
    body === undefined || typeof body === 'string' ? body : new Uint8Array(body),
    {
      status: answer.status ?? 200,
      headers: answer.headers,
    },
  );
}

/**
 * The response for a matching request: the body read and the application's answer asked for
 * first when the engine must (a Response is built from its head), then a `ReadableStream` with
 * backpressure. On Bun, the stream opens with a `:\n` comment (Bun completes the head only with
 * the first body byte) and its idle timeout is turned off: heartbeats, not Bun, decide when an
 * idle stream is kept.
 */
export async function streamResponse(
  engine: SseEngine,
  view: SseRequest,
  request: Request,
  init: StreamInit | undefined,
  runtimeArgument: unknown,
): Promise<Response> {
  let ready = init;
  if (engine.prepares) {
    const preparation = await engine.prepare(view, init);
    if (preparation.answer) return answerResponse(preparation.answer);
    ready = preparation.init;
  }
  const onBun = isBunServer(runtimeArgument);
  const { sink, toResponse } = createWebStreamSink(request.signal, undefined, {
    headComment: onBun,
  });
  // serve() calls sink.head() before its first await, so the status and headers are known here.
  const served = engine.serve(view, sink, ready);
  const response = toResponse();
  if (response.status < 300) {
    if (onBun) runtimeArgument.timeout(request, 0);
    const socket = nodeSocketOf(runtimeArgument);
    if (socket) served.then(markStreamSocket(socket));
  }
  return response;
}
