import type { SseOptions } from '@sse-middleware/core';
import { chatResumeOptions, chatStartOptions, createExampleChats, stopChat } from './chats.js';
import { heartbeatFromEnv } from './events.js';
import { createGenerationCounter, echoDelayFromEnv, type Generations } from './generations.js';
import { chatCompletionsOptions } from './openai.js';

/** What every example mounts for its POST-stream routes, whatever its server. */
export interface PostStreams {
  /** `POST /v1/chat/completions`: the options of the route-level form. */
  readonly completions: SseOptions;
  /** `POST /chat`: starts a resumable generation and streams it. */
  readonly chatStart: SseOptions;
  /** `GET /chat/:id/stream`: resumes it after `Last-Event-ID`. */
  readonly chatResume: SseOptions;
  /** `POST /chat/:id/stop`, given the request path: the status and JSON body to answer. */
  stop(path: string): Promise<{ status: number; body: unknown }>;
  /** For `/app/metrics`. */
  generations(): Generations;
}

/**
 * The echo model's routes, from `env`: `ECHO_DELAY_MS`, `HEARTBEAT_MS`, and `REDIS_URL` for
 * chats that resume on any process.
 */
export function createPostStreams(env: NodeJS.ProcessEnv = process.env): PostStreams {
  const generations = createGenerationCounter();
  const chats = createExampleChats(env);
  const heartbeat = heartbeatFromEnv(env);
  const delayMs = echoDelayFromEnv(env);
  return {
    completions: chatCompletionsOptions(generations, delayMs, heartbeat),
    chatStart: chatStartOptions(chats, generations, delayMs, heartbeat),
    chatResume: chatResumeOptions(chats, heartbeat),
    stop: (path) => stopChat(chats, path),
    generations: generations.snapshot,
  };
}
