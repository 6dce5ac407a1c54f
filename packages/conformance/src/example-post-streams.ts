import { createParser, type EventSourceMessage } from 'eventsource-parser';
import OpenAI from 'openai';
import { EventSource } from 'undici';
import { expect, it, onTestFinished } from 'vitest';
import { fetchEventSourceDriver } from './clients/lenient.js';
import type { ConformanceServer } from './harness.js';
import { sleep } from './http-client.js';

interface Generations {
  started: number;
  completed: number;
  aborted: number;
}

async function generations(url: string): Promise<Generations> {
  const response = await fetch(`${url}/app/metrics`);
  return ((await response.json()) as { generations: Generations }).generations;
}

/** Polls `check` until it holds, failing with `what` after `timeoutMs`. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

const openai = (url: string) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: 'not-needed', maxRetries: 0 });

const user = (content: string) => [{ role: 'user' as const, content }];

/** Reads a POST or GET stream with undici's fetch until `stop(events)`, then cancels it. */
async function readEvents(
  response: Response,
  stop: (events: readonly EventSourceMessage[]) => boolean = () => false,
): Promise<EventSourceMessage[]> {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    parser.feed(decoder.decode(value, { stream: true }));
    if (stop(events)) {
      await reader.cancel();
      return events;
    }
  }
}

const postJson = (url: string, body: unknown) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const MESSAGE = 'The quick brown fox jumps over the lazy dog';

/**
 * The contract of the POST-stream routes every example serves: `/v1/chat/completions` (the OpenAI
 * API with the `echo` model, read by the official `openai` SDK) and the resumable `/chat`.
 */
export function postStreamContractTests(serve: () => Promise<ConformanceServer>): void {
  it('POST /v1/chat/completions streams to the openai SDK with only baseURL changed', async () => {
    const { url } = await serve();
    const stream = await openai(url).chat.completions.create({
      model: 'echo',
      messages: [{ role: 'system', content: 'ignored' }, ...user(MESSAGE)],
      stream: true,
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      expect(chunk.model).toBe('echo');
      const [choice] = chunk.choices;
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(deltas).toEqual(
      MESSAGE.split(' ').map((word, i, all) => (i < all.length - 1 ? `${word} ` : word)),
    );
    expect(finish).toBe('stop');
  });

  it('POST /v1/chat/completions ends with data: [DONE], and answers one JSON without stream', async () => {
    const { url } = await serve();
    const response = await postJson(`${url}/v1/chat/completions`, {
      model: 'echo',
      messages: user('two words'),
      stream: true,
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await readEvents(response);
    expect(events.at(-1)?.data).toBe('[DONE]');
    expect(JSON.parse(events.at(-2)!.data).choices[0]).toMatchObject({
      delta: {},
      finish_reason: 'stop',
    });
    const completion = await openai(url).chat.completions.create({
      model: 'echo',
      messages: user(MESSAGE),
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe(MESSAGE);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
  });

  it('POST /v1/chat/completions refuses bad requests OpenAI-style: malformed JSON, no messages, an unknown model', async () => {
    const { url } = await serve();
    const malformed = await postJson(`${url}/v1/chat/completions`, '{"model": "echo", ');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await malformed.json()).toMatchObject({
      error: { message: expect.any(String), type: 'invalid_request_error' },
    });
    const noMessages = await postJson(`${url}/v1/chat/completions`, {
      model: 'echo',
      stream: true,
    });
    expect(noMessages.status).toBe(400);
    await noMessages.arrayBuffer();
    const error = await openai(url)
      .chat.completions.create({ model: 'gpt-nope', messages: user('x'), stream: true })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe('invalid_request_error');
  });

  it("the openai SDK's abort() stops the generation on the server", async () => {
    const { url } = await serve();
    const before = await generations(url);
    const long = Array.from({ length: 400 }, (_, i) => `w${i}`).join(' ');
    const stream = await openai(url).chat.completions.create({
      model: 'echo',
      messages: user(long),
      stream: true,
    });
    let seen = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) seen += 1;
      if (seen === 3) break; // leaving the loop aborts the request, as stream.controller.abort() does
    }
    await eventually(
      async () => (await generations(url)).aborted > before.aborted,
      'the generation to be aborted',
      3000,
    );
    const after = await generations(url);
    expect(after.started).toBe(before.started + 1);
    expect(after.completed).toBe(before.completed);
  });

  it('POST /v1/chat/completions streams to @microsoft/fetch-event-source', async () => {
    const { url } = await serve();
    const driver = fetchEventSourceDriver();
    onTestFinished(() => driver.dispose());
    const connection = await driver.open(`${url}/v1/chat/completions`, undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
      body: JSON.stringify({ model: 'echo', messages: user('hi there'), stream: true }),
    });
    // The role chunk, two words, the stop chunk, [DONE].
    const events = await connection.waitForEvents(5);
    expect(events.map((e) => e.data).at(-1)).toBe('[DONE]');
    expect(events.slice(1, 3).map((e) => JSON.parse(e.data).choices[0].delta.content)).toEqual([
      'hi ',
      'there',
    ]);
    await connection.close();
  });

  it('POST /chat outlives its client; GET /chat/:id/stream resumes from Last-Event-ID, then 204', async () => {
    const { url } = await serve();
    const id = `c${Date.now()}`;
    const words = MESSAGE.split(' ');
    const started = await postJson(`${url}/chat`, { id, message: MESSAGE, delayMs: 40 });
    expect(started.status).toBe(200);
    const first = await readEvents(started, (events) => events.length >= 3);
    // Ids are `<epoch>.<seq>`, the epoch new for every chat (an id reused later starts afresh).
    const epoch = /^([0-9a-z]+)\.1$/.exec(first[0]?.id ?? '')?.[1];
    expect(epoch).toBeDefined();
    const idOf = (seq: number) => `${epoch}.${seq}`;
    expect(first.map((e) => [e.id, e.event, e.data])).toEqual([
      [idOf(1), 'word', `${words[0]} `],
      [idOf(2), 'word', `${words[1]} `],
      [idOf(3), 'word', `${words[2]} `],
    ]);
    // Nobody follows for a while: the generation goes on.
    await sleep(150);
    const rest = await readEvents(
      await fetch(`${url}/chat/${id}/stream`, { headers: { 'last-event-id': idOf(3) } }),
    );
    expect(rest.at(-1)).toMatchObject({ event: 'end' });
    const resumed = rest.slice(0, -1);
    expect(resumed.map((e) => e.id)).toEqual(words.slice(3).map((_, i) => idOf(i + 4)));
    expect([...first, ...resumed].map((e) => e.data).join('')).toBe(MESSAGE);
    const done = await fetch(`${url}/chat/${id}/stream`, {
      headers: { 'last-event-id': idOf(words.length) },
    });
    expect(done.status).toBe(204);
    const unknown = await fetch(`${url}/chat/no-such-chat/stream`);
    expect(unknown.status).toBe(404);
    const again = await postJson(`${url}/chat`, { id, message: 'x' });
    expect(again.status).toBe(409);
    await Promise.all([done.arrayBuffer(), unknown.arrayBuffer(), again.arrayBuffer()]);
  });

  it('an EventSource follows GET /chat/:id/stream to the end, and several clients get the same words', async () => {
    const { url } = await serve();
    const id = `es${Date.now()}`;
    const started = await postJson(`${url}/chat`, { id, message: MESSAGE, delayMs: 20 });
    const clients = [0, 1].map(() => {
      const source = new EventSource(`${url}/chat/${id}/stream`);
      onTestFinished(() => source.close());
      const words: string[] = [];
      const ended = new Promise<void>((resolve) => {
        source.addEventListener('end', () => {
          source.close();
          resolve();
        });
      });
      source.addEventListener('word', (event) => words.push((event as MessageEvent).data));
      return { words, ended };
    });
    const own = await readEvents(started);
    await Promise.all(clients.map((client) => client.ended));
    for (const client of clients) expect(client.words.join('')).toBe(MESSAGE);
    expect(
      own
        .filter((e) => e.event === 'word')
        .map((e) => e.data)
        .join(''),
    ).toBe(MESSAGE);
  });

  it('POST /chat/:id/stop stops a generation: its streams end, and it counts as aborted', async () => {
    const { url } = await serve();
    const before = await generations(url);
    const id = `s${Date.now()}`;
    const long = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const started = await postJson(`${url}/chat`, { id, message: long, delayMs: 20 });
    const reading = readEvents(started);
    await sleep(100);
    const stop = await fetch(`${url}/chat/${id}/stop`, { method: 'POST' });
    expect(stop.status).toBe(200);
    expect(await stop.json()).toEqual({ id, stopped: true });
    const events = await reading;
    expect(events.at(-1)).toMatchObject({ event: 'end' });
    expect(events.length).toBeLessThan(100);
    await eventually(
      async () => (await generations(url)).aborted > before.aborted,
      'the stop to be counted',
      3000,
    );
    const again = await fetch(`${url}/chat/${id}/stop`, { method: 'POST' });
    expect(again.status).toBe(404);
    await again.arrayBuffer();
  });
}
