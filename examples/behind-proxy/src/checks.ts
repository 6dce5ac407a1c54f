import { type Client, type EventStream, http1 } from './clients.js';

/** `POST /publish` through `client`; resolves with the id the channel gave the event. */
export async function publish(
  url: string,
  text: string,
  client: Client = http1,
): Promise<{ status: number; id: string }> {
  const answer = await client.post(url, text);
  if (answer.status !== 202) {
    throw new Error(
      `POST ${url}/publish (${client.name}) answered ${answer.status}: ${answer.body}`,
    );
  }
  return { status: answer.status, id: (JSON.parse(answer.body) as { id: string }).id };
}

/** Opens `GET /events` and waits for its first bytes (the `retry:` hint): the stream is live. */
export async function openEvents(
  url: string,
  headers: Record<string, string> = {},
  client: Client = http1,
): Promise<EventStream> {
  const stream = await client.open(url, headers);
  if (stream.status !== 200) {
    stream.destroy();
    throw new Error(`GET ${url}/events (${client.name}) answered ${stream.status}`);
  }
  await stream.waitForText((text) => text.includes('retry:'), 15_000);
  return stream;
}

export interface CheckOptions {
  /** Events to time (measureLatency). */
  count?: number;
  /** Text the published events start with. */
  tag?: string;
  /** Where to publish, when not through `url` (measureLatency). */
  publishUrl?: string;
  /** HTTP/1.1 (default), HTTP/1.1 with gzip, or HTTP/2. */
  client?: Client;
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

export interface Latencies {
  /** Publish call (through the proxy) to the event's arrival on the stream (through the proxy), ms. */
  samples: number[];
  median: number;
  best: number;
  worst: number;
}

/**
 * Publishes `count` events one after another through `url` and times each from the moment
 * `POST /publish` is called to the moment the event arrives on a `GET /events` stream opened
 * through `url` (also checking it is that event). `publishUrl` publishes elsewhere (e.g. to the
 * example directly), to tell which way through the proxy is the slow one.
 */
export async function measureLatency(
  url: string,
  { count = 7, tag = 'latency', publishUrl = url, client = http1 }: CheckOptions = {},
): Promise<Latencies> {
  const stream = await openEvents(url, {}, client);
  try {
    const samples: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const before = stream.events.length;
      const text = `${tag} #${i}`;
      const started = performance.now();
      const published = publish(publishUrl, text, client);
      const events = await stream.waitForEvents(before + 1, 5000);
      const elapsed = performance.now() - started;
      const { id } = await published;
      const event = events[before]!;
      if (event.data !== text || event.id !== id) {
        throw new Error(
          `expected ${JSON.stringify({ id, data: text })}, received ${JSON.stringify(event)}`,
        );
      }
      samples.push(Math.round(elapsed * 10) / 10);
      await sleep(30);
    }
    return {
      samples,
      median: median(samples),
      best: Math.min(...samples),
      worst: Math.max(...samples),
    };
  } finally {
    stream.destroy();
  }
}

export interface IdleOutcome {
  /** How long the stream was held open with no event, ms. */
  heldMs: number;
  /** Whether it had ended by then. */
  ended: boolean;
  /** Heartbeat comments received meanwhile. */
  heartbeats: number;
  /** The longest time with no byte received, ms (sampled every 25 ms). */
  longestSilenceMs: number;
  /** After the wait: publish to arrival of one event, ms (undefined if it ended). */
  deliveredInMs: number | undefined;
  /** What the stream received, for a failure message. */
  text: string;
}

/** Opens `GET /events` through `url`, publishes nothing for `holdMs`, then publishes one event. */
export async function holdIdle(
  url: string,
  holdMs: number,
  { tag = 'after idle', client = http1 }: CheckOptions = {},
): Promise<IdleOutcome> {
  const stream = await openEvents(url, {}, client);
  try {
    const opened = performance.now();
    let lastBytes = stream.bytes;
    let lastChange = opened;
    let longestSilenceMs = 0;
    while (performance.now() - opened < holdMs && !stream.isEnded) {
      await sleep(25);
      const now = performance.now();
      if (stream.bytes !== lastBytes) {
        lastBytes = stream.bytes;
        lastChange = now;
      }
      longestSilenceMs = Math.max(longestSilenceMs, now - lastChange);
    }
    const heldMs = Math.round(performance.now() - opened);
    // A heartbeat is a comment line (`:`), with or without a blank line after it.
    const heartbeats = (stream.text.match(/^:\n/gm) ?? []).length;
    if (stream.isEnded) {
      return {
        heldMs,
        ended: true,
        heartbeats,
        longestSilenceMs: Math.round(longestSilenceMs),
        deliveredInMs: undefined,
        text: stream.text,
      };
    }
    const before = stream.events.length;
    const started = performance.now();
    await publish(url, tag, client);
    const events = await stream.waitForEvents(before + 1, 5000);
    const deliveredInMs = Math.round((performance.now() - started) * 10) / 10;
    if (events[before]?.data !== tag) {
      throw new Error(
        `expected ${JSON.stringify(tag)}, received ${JSON.stringify(events[before])}`,
      );
    }
    return {
      heldMs,
      ended: false,
      heartbeats,
      longestSilenceMs: Math.round(longestSilenceMs),
      deliveredInMs,
      text: stream.text,
    };
  } finally {
    stream.destroy();
  }
}

/** How long a `GET /events` stream through `url` stayed open before the path cut it, ms. */
export async function timeUntilCut(
  url: string,
  waitMs: number,
  client: Client = http1,
): Promise<number | undefined> {
  const stream = await openEvents(url, {}, client);
  const opened = performance.now();
  try {
    const cut = await Promise.race([
      stream.ended.then(() => true),
      sleep(waitMs).then(() => false),
    ]);
    return cut ? Math.round(performance.now() - opened) : undefined;
  } finally {
    stream.destroy();
  }
}

export interface ReplayOutcome {
  /** The ids of the three published events, as the live stream received them. */
  published: { id: string; data: string }[];
  /** What the stream resumed from the first id received, before the live event. */
  replayed: { id: string; data: string }[];
  /** The live event published after the resume, as received. */
  live: { id: string; data: string } | undefined;
  /** Its id as `POST /publish` answered. */
  liveId: string;
  /** Everything the resumed stream received (events only), to prove nothing else came. */
  all: { id: string | undefined; data: string }[];
}

/**
 * Publishes 3 events through `url` while a stream is open, takes their ids from what it received
 * (ids are opaque), reconnects with the first as `Last-Event-ID`, then publishes one more.
 */
export async function replayThrough(
  url: string,
  { tag = 'replay', client = http1 }: CheckOptions = {},
): Promise<ReplayOutcome> {
  const first = await openEvents(url, {}, client);
  let published: { id: string; data: string }[];
  try {
    const before = first.events.length;
    for (const n of [1, 2, 3]) await publish(url, `${tag} ${n}`, client);
    const events = await first.waitForEvents(before + 3, 5000);
    published = events.slice(before, before + 3).map((e) => ({ id: e.id ?? '', data: e.data }));
  } finally {
    first.destroy();
  }
  const resumed = await client.open(url, { 'Last-Event-ID': published[0]!.id });
  try {
    if (resumed.status !== 200) throw new Error(`the resume answered ${resumed.status}`);
    await resumed.waitForEvents(2, 5000);
    // Anything more than the two missed events would arrive right behind them.
    await sleep(200);
    const replayed = resumed.events.map((e) => ({ id: e.id ?? '', data: e.data }));
    const { id: liveId } = await publish(url, `${tag} live`, client);
    const events = await resumed.waitForEvents(replayed.length + 1, 5000);
    const live = events[replayed.length];
    return {
      published,
      replayed,
      live: live && { id: live.id ?? '', data: live.data },
      liveId,
      all: events.map((e) => ({ id: e.id, data: e.data })),
    };
  } finally {
    resumed.destroy();
  }
}

export interface PostStreamOutcome {
  status: number;
  contentType: string;
  /** The words of the completion, in order, as the chunks carried them. */
  words: string[];
  /** The last event's data: `[DONE]`. */
  last: string | undefined;
  /** ms from the first word's arrival to the last's: about 0 when a proxy buffered the stream. */
  spreadMs: number;
}

/**
 * `POST /v1/chat/completions` with `stream: true` through `url`, with undici's fetch: the echo
 * model sends one word every `ECHO_DELAY_MS` (20 ms), so words that a proxy passes on as they come
 * arrive spread over the whole answer, and words it buffered arrive at once.
 */
export async function postStreamThrough(url: string, words: number): Promise<PostStreamOutcome> {
  const message = Array.from({ length: words }, (_, i) => `w${i + 1}`).join(' ');
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'echo',
      stream: true,
      messages: [{ role: 'user', content: message }],
    }),
  });
  const arrivals: number[] = [];
  const received: string[] = [];
  let last: string | undefined;
  let pending = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    let end = pending.indexOf('\n\n');
    while (end >= 0) {
      const data = pending
        .slice(0, end)
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      pending = pending.slice(end + 2);
      end = pending.indexOf('\n\n');
      if (data === '') continue;
      last = data;
      if (data === '[DONE]') continue;
      const content = (JSON.parse(data) as { choices: { delta: { content?: string } }[] })
        .choices[0]?.delta.content;
      if (content) {
        received.push(content.trim());
        arrivals.push(performance.now());
      }
    }
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    words: received,
    last,
    spreadMs: arrivals.length > 1 ? Math.round(arrivals.at(-1)! - arrivals[0]!) : 0,
  };
}
