import { randomUUID } from 'node:crypto';
import type {
  SseAnswer,
  SseBodyError,
  SseOptions,
  SseRequest,
  StreamContext,
} from '@sse-middleware/core';
import { echoWords, type GenerationCounter, pause } from './generations.js';

/** The only model: it answers with the last user message, word by word. */
export const ECHO_MODEL = 'echo';

/** The largest request body `/v1/chat/completions` reads. */
export const MAX_COMPLETION_BODY_BYTES = 1024 * 1024;

interface ChatMessage {
  role: string;
  content: unknown;
}

/** What the echo model reads of a Chat Completions request, once validated. */
export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream: boolean;
}

/** An OpenAI-style error answer: `{ "error": { "message", "type", "param", "code" } }`. */
export function openAiError(
  status: number,
  message: string,
  type = 'invalid_request_error',
  code: string | null = null,
): SseAnswer {
  return {
    status,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ error: { message, type, param: null, code } }),
  };
}

/** The request, or why it is invalid (an OpenAI-style 400 or 404). */
export function parseCompletionRequest(body: unknown): CompletionRequest | SseAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return openAiError(400, 'The request body must be a JSON object.');
  }
  const { model, messages, stream } = body as Record<string, unknown>;
  if (typeof model !== 'string')
    return openAiError(400, "'model' is required and must be a string.");
  if (model !== ECHO_MODEL) {
    return openAiError(
      404,
      `The model \`${model}\` does not exist.`,
      'invalid_request_error',
      'model_not_found',
    );
  }
  if (!Array.isArray(messages) || messages.length === 0) {
    return openAiError(400, "'messages' must be a non-empty array.");
  }
  for (const message of messages) {
    if (typeof message !== 'object' || message === null || typeof message.role !== 'string') {
      return openAiError(400, "Every message needs a string 'role'.");
    }
  }
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    return openAiError(400, "'stream' must be a boolean.");
  }
  return { model, messages: messages as ChatMessage[], stream: stream === true };
}

/** The text of the last user message (a string, or the text parts of a content array). */
export function lastUserText(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((message) => message.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  if (Array.isArray(last.content)) {
    return last.content
      .map((part: unknown) =>
        typeof part === 'object' && part !== null && (part as { type?: unknown }).type === 'text'
          ? String((part as { text?: unknown }).text ?? '')
          : '',
      )
      .join('');
  }
  return '';
}

function completionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** `stream: false`: one `chat.completion`. */
export function completionAnswer(request: CompletionRequest): SseAnswer {
  const text = lastUserText(request.messages);
  const words = echoWords(text).length;
  return {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      id: completionId(),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: ECHO_MODEL,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: words, completion_tokens: words, total_tokens: 2 * words },
    }),
  };
}

/**
 * `stream: true`: `chat.completion.chunk` events, the role first, one word per chunk every
 * `delayMs`, then `finish_reason: "stop"`; the route's end event is `data: [DONE]`. Stops at once
 * when the client leaves (the signal aborts and this generator is closed).
 */
export async function* completionChunks(
  request: CompletionRequest,
  signal: AbortSignal,
  delayMs: number,
  generations: GenerationCounter,
) {
  const id = completionId();
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, string>, finish: string | null) => ({
    data: JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model: ECHO_MODEL,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    }),
  });
  generations.started();
  let finished = false;
  try {
    yield chunk({ role: 'assistant', content: '' }, null);
    for (const word of echoWords(lastUserText(request.messages))) {
      await pause(delayMs, signal);
      if (signal.aborted) return;
      yield chunk({ content: word }, null);
    }
    yield chunk({}, 'stop');
    finished = true;
  } finally {
    if (finished) generations.completed();
    else generations.aborted();
  }
}

/**
 * `POST /v1/chat/completions`, the OpenAI Chat Completions API with the `echo` model: the same
 * options on every server's route-level form (`sseRoute()`, Fastify's `{ sse }` route option).
 */
export function chatCompletionsOptions(
  generations: GenerationCounter,
  delayMs: number,
  heartbeat: number,
): SseOptions {
  const requestOf = (ctx: StreamContext) => parseCompletionRequest(ctx.body) as CompletionRequest;
  return {
    body: {
      type: 'json',
      maxBytes: MAX_COMPLETION_BODY_BYTES,
      refuse: (error: SseBodyError) =>
        openAiError(
          error.status,
          `We could not parse the JSON body of your request. ${error.message}`,
        ),
    },
    answer: (_req: SseRequest, ctx: StreamContext) => {
      const request = parseCompletionRequest(ctx.body);
      if (!('messages' in request)) return request;
      return request.stream ? undefined : completionAnswer(request);
    },
    source: (_req: SseRequest, ctx: StreamContext) =>
      completionChunks(requestOf(ctx), ctx.signal, delayMs, generations),
    endEvent: { data: '[DONE]' },
    heartbeat,
    maxConnections: 100,
  };
}
