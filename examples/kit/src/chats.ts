import {
  type Chunk,
  createResumableStreams,
  type ResumableStreams,
  type SseAnswer,
  type SseOptions,
  type SseRequest,
  SseStreamExistsError,
  SseStreamLimitError,
  type StreamContext,
} from '@sse-middleware/core';
import { createRedisResumableStore } from '@sse-middleware/redis';
import { echoWords, type GenerationCounter, pause } from './generations.js';
import { closeOnShutdown } from './listen.js';

/** The Redis keys the examples' resumable chats share when `REDIS_URL` is set. */
export const EXAMPLE_CHAT_PREFIX = 'sse-middleware:example:chats';

/** How long a chat generation is kept, to resume it: 10 minutes. */
export const CHAT_TTL_MS = 10 * 60_000;

const CHAT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const STREAM_PATH = /^\/chat\/([^/]+)\/stream$/;
const STOP_PATH = /^\/chat\/([^/]+)\/stop$/;

const json = (status: number, body: unknown): SseAnswer => ({
  status,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * The resumable chats: in memory, or, when `REDIS_URL` is set, in Redis, so that a generation
 * started on one process resumes on any other.
 */
export function createExampleChats(env: NodeJS.ProcessEnv = process.env): ResumableStreams {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') {
    const chats = createResumableStreams({ ttl: CHAT_TTL_MS });
    closeOnShutdown(() => chats.close());
    return chats;
  }
  const store = createRedisResumableStore({ url, prefix: EXAMPLE_CHAT_PREFIX });
  const chats = createResumableStreams({ store, ttl: CHAT_TTL_MS });
  closeOnShutdown(async () => {
    await chats.close();
    await store.close();
  });
  return chats;
}

interface StartRequest {
  id: string;
  message: string;
  delayMs: number;
}

function parseStart(body: unknown, defaultDelayMs: number): StartRequest | SseAnswer {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return json(400, { error: 'the body must be a JSON object { id, message, delayMs? }' });
  }
  const { id, message, delayMs = defaultDelayMs } = body as Record<string, unknown>;
  if (typeof id !== 'string' || !CHAT_ID.test(id)) {
    return json(400, { error: 'id must be 1 to 64 letters, digits, - or _' });
  }
  if (typeof message !== 'string') return json(400, { error: 'message must be a string' });
  if (
    typeof delayMs !== 'number' ||
    !Number.isInteger(delayMs) ||
    delayMs < 0 ||
    delayMs > 10_000
  ) {
    return json(400, { error: 'delayMs must be a whole number of ms from 0 to 10000' });
  }
  return { id, message, delayMs };
}

/** The echo model as a resumable producer: one event per word, `delayMs` apart. */
function generation(request: StartRequest, generations: GenerationCounter) {
  return async function* produce(signal: AbortSignal) {
    generations.started();
    let finished = false;
    try {
      for (const word of echoWords(request.message)) {
        await pause(request.delayMs, signal);
        if (signal.aborted) return;
        yield { event: 'word', data: word };
      }
      finished = true;
    } finally {
      if (finished) generations.completed();
      else generations.aborted();
    }
  };
}

/** Streams chat `id` from after `lastEventId`: what was missed, then live, then the end. */
async function* follow(chats: ResumableStreams, id: string, req: SseRequest, ctx: StreamContext) {
  const found = await chats.resume(id, ctx.lastEventId);
  if (found.source) yield* found.source(req, ctx) as AsyncIterable<Chunk>;
}

/** The `end` event every chat stream closes with: an `EventSource` client `close()`s on it. */
const END_EVENT = { event: 'end', data: '' };

/**
 * `POST /chat` `{ id, message, delayMs? }`: starts a resumable generation (409 when `id` is taken)
 * and streams it. It runs to its end even if every client leaves.
 */
export function chatStartOptions(
  chats: ResumableStreams,
  generations: GenerationCounter,
  delayMs: number,
  heartbeat: number,
): SseOptions {
  return {
    body: {
      type: 'json',
      maxBytes: 64 * 1024,
      refuse: (error) => json(error.status, { error: error.message }),
    },
    answer: async (_req, ctx) => {
      const request = parseStart(ctx.body, delayMs);
      if (!('id' in request)) return request;
      try {
        await chats.start(request.id, generation(request, generations));
      } catch (error) {
        if (error instanceof SseStreamExistsError) {
          return json(409, {
            error: `chat ${request.id} exists: resume it with GET /chat/${request.id}/stream`,
          });
        }
        if (error instanceof SseStreamLimitError) {
          return {
            ...json(503, { error: 'too many generations are running: try again later' }),
            headers: { 'Content-Type': 'application/json', 'Retry-After': '5' },
          };
        }
        throw error;
      }
      return undefined;
    },
    source: (req, ctx) => follow(chats, (ctx.body as StartRequest).id, req, ctx),
    endEvent: END_EVENT,
    heartbeat,
    maxConnections: 1000,
  };
}

/** The chat id of `/chat/:id/stream` or `/chat/:id/stop`, or `undefined`. */
export function chatIdOf(path: string): string | undefined {
  const match = STREAM_PATH.exec(path) ?? STOP_PATH.exec(path);
  if (!match) return undefined;
  const id = decodeURIComponent(match[1]!);
  return CHAT_ID.test(id) ? id : undefined;
}

/**
 * `GET /chat/:id/stream`: resumes chat `id` after the client's `Last-Event-ID`, on any process
 * (with `REDIS_URL`). 404 for a chat that does not exist or has expired; 204 once it has ended
 * and the client has every word (an `EventSource` then stops reconnecting).
 */
export function chatResumeOptions(chats: ResumableStreams, heartbeat: number): SseOptions {
  return {
    answer: async (req) => {
      const id = chatIdOf(req.path);
      if (id === undefined) return json(404, { error: 'no such chat' });
      const found = await chats.resume(id, req.headers.get('last-event-id') ?? undefined);
      if (found.status === 404) return json(404, { error: `no chat ${id} (it may have expired)` });
      return found.status === 204 ? { status: 204 } : undefined;
    },
    source: (req, ctx) => follow(chats, chatIdOf(req.path) ?? '', req, ctx),
    endEvent: END_EVENT,
    heartbeat,
    maxConnections: 1000,
  };
}

/** `POST /chat/:id/stop`: stops the generation, wherever it runs. 200, or 404 when none is running. */
export async function stopChat(
  chats: ResumableStreams,
  path: string,
): Promise<{ status: number; body: unknown }> {
  const id = chatIdOf(path);
  if (id === undefined) return { status: 404, body: { error: 'no such chat' } };
  const stopped = await chats.stop(id);
  return stopped
    ? { status: 200, body: { id, stopped: true } }
    : { status: 404, body: { error: `no generation of chat ${id} is running` } };
}
