import {
  type Channel,
  createChannel,
  SseEncodeError,
  type SseOptions,
  uriMatch,
} from '@sse-middleware/core';
import { createRedisStore, RedisUnavailableError } from '@sse-middleware/redis';
import { closeOnShutdown } from './listen.js';

/** The example channel's events: plain `message` text, or any named event with any JSON payload. */
export type ExampleEvents = Record<string, unknown>;

/** The largest body `POST /publish` accepts. */
export const MAX_PUBLISH_BYTES = 64 * 1024;

/** The Redis stream the examples share when `REDIS_URL` is set. */
export const EXAMPLE_STREAM_KEY = 'sse-middleware:example:events';

/**
 * The channel `GET /events` streams and `POST /publish` publishes to: in memory, or, when
 * `REDIS_URL` is set (`redis://127.0.0.1:6379`), on a Redis stream shared by every process that
 * points there, so an event published on any of them reaches the clients of all. The Redis
 * connections close on Ctrl+C or SIGTERM (see {@link onShutdown}).
 */
export function createExampleChannel(env: NodeJS.ProcessEnv = process.env): Channel<ExampleEvents> {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') return createChannel<ExampleEvents>();
  const store = createRedisStore({
    url,
    key: EXAMPLE_STREAM_KEY,
    onError: (error) => console.error(`[redis] ${error.message}`),
  });
  const channel = createChannel<ExampleEvents>({ store });
  closeOnShutdown(async () => {
    channel.close();
    await store.close();
  });
  return channel;
}

/** `HEARTBEAT_MS` (default 15000; 0 turns heartbeats off). */
export function heartbeatFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.HEARTBEAT_MS;
  if (raw === undefined || raw === '') return 15_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) {
    throw new TypeError(
      `HEARTBEAT_MS must be a whole number of milliseconds >= 0, received ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** `GET /events`: the channel, replayed from `Last-Event-ID`, with heartbeats and a retry hint. */
export function eventsStreamOptions(
  channel: Channel<ExampleEvents>,
  env: NodeJS.ProcessEnv = process.env,
): SseOptions {
  return {
    requestMatcher: uriMatch('/events'),
    source: channel.source(),
    heartbeat: heartbeatFromEnv(env),
    retry: 2000,
    maxConnections: 1000,
  };
}

export interface PublishAnswer {
  status: 202 | 400 | 413 | 503;
  body: { id: string } | { error: string };
}

/**
 * `POST /publish`: a text body publishes a `message`; a JSON body `{"event": …, "data": …}` a
 * named event. Answers 202 with the id, 400 (nothing published) for an event the encoder refuses,
 * or 503 with the reason while the channel's Redis cannot be reached.
 */
export async function publishRequest(
  channel: Channel<ExampleEvents>,
  body: string,
  contentType: string | undefined,
): Promise<PublishAnswer> {
  if (Buffer.byteLength(body) > MAX_PUBLISH_BYTES) {
    return { status: 413, body: { error: `the body is over ${MAX_PUBLISH_BYTES} bytes` } };
  }
  let event = 'message';
  let data: unknown = body;
  if (/^application\/json\b/i.test(contentType ?? '')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      return { status: 400, body: { error: `invalid JSON: ${(error as Error).message}` } };
    }
    if (typeof parsed !== 'object' || parsed === null || !('data' in parsed)) {
      return {
        status: 400,
        body: { error: 'a JSON body must be an object {"event"?: string, "data": any}' },
      };
    }
    const given = (parsed as { event?: unknown }).event;
    if (given !== undefined && typeof given !== 'string') {
      return { status: 400, body: { error: '"event" must be a string' } };
    }
    event = given ?? 'message';
    data = (parsed as { data: unknown }).data;
  }
  try {
    return { status: 202, body: await channel.publish(event, data) };
  } catch (error) {
    if (error instanceof SseEncodeError) return { status: 400, body: { error: error.message } };
    if (error instanceof RedisUnavailableError) {
      return { status: 503, body: { error: error.message } };
    }
    throw error;
  }
}

/** A publish body as text, or what to answer instead (`null`: the client has gone, answer nothing). */
export type BodyRead = { text: string } | { answer: PublishAnswer | null };

/**
 * Reads a request body as UTF-8 text, within {@link MAX_PUBLISH_BYTES} (413 beyond). A body that
 * cannot be read (the client left mid-body, the framing broke) publishes nothing: the request is
 * dropped when its connection is gone, else answered 400. Never rejects.
 */
export async function readBody(body: AsyncIterable<Uint8Array>): Promise<BodyRead> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > MAX_PUBLISH_BYTES) {
        return {
          answer: { status: 413, body: { error: `the body is over ${MAX_PUBLISH_BYTES} bytes` } },
        };
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (isClientGone(body, error)) return { answer: null };
    return {
      answer: { status: 400, body: { error: `the body could not be read: ${describe(error)}` } },
    };
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}

function isClientGone(body: unknown, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  const socket = (body as { socket?: { destroyed?: boolean } | null }).socket;
  return socket?.destroyed === true;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
