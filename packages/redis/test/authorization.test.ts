import {
  createStreamTickets,
  type DisconnectMessage,
  type SseEngine,
  type SseOptions,
} from '@sse-middleware/core';
import { createRequestView, createSseEngine, type SseSink } from '@sse-middleware/core/adapter';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type RedisServer, startRedisServer } from '../../../scripts/redis-server.mjs';
import {
  createRedisDisconnectBus,
  createRedisTicketStore,
  type RedisDisconnectBus,
  type RedisDisconnectBusOptions,
  type RedisTicketStore,
  type RedisTicketStoreOptions,
  RedisUnavailableError,
} from '../src/index.js';
import { adminClient, until, useRedisServer } from './helpers.js';

const redis = useRedisServer();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let names = 0;
/** A channel (or prefix) of its own for each use, so tests never hear each other. */
function uniqueName(role: string): string {
  names += 1;
  return `test-${role}:${process.pid}:${names}`;
}

/** One "process"'s bus: connections of its own, closed when the test finishes; errors collected. */
function busFor(
  options: RedisDisconnectBusOptions,
): RedisDisconnectBus & { readonly reported: Error[] } {
  const reported: Error[] = [];
  const bus = createRedisDisconnectBus({
    ...(options.client ? {} : { url: redis.current.url }),
    onError: (error) => reported.push(error),
    ...options,
  });
  onTestFinished(() => bus.close());
  return Object.assign(bus, { reported });
}

/** One "process"'s ticket store, closed when the test finishes. */
function ticketStoreFor(options: RedisTicketStoreOptions = {}): RedisTicketStore {
  const store = createRedisTicketStore(
    options.client ? options : { url: redis.current.url, ...options },
  );
  onTestFinished(() => store.close());
  return store;
}

/** Collects what a bus's listener hears. */
function listen(bus: RedisDisconnectBus): { heard: DisconnectMessage[]; stop: () => void } {
  const heard: DisconnectMessage[] = [];
  const stop = bus.subscribe((message) => heard.push(message));
  return { heard, stop };
}

/** How many connections Redis has subscribed to `channel`. */
async function subscribers(admin: Redis, channel: string): Promise<number> {
  const [, count] = (await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(count);
}

/** Resolves once `count` connections are subscribed to `channel`: what is published now reaches them. */
async function subscribed(admin: Redis, channel: string, count: number): Promise<void> {
  await until(
    async () => (await subscribers(admin, channel)) === count,
    `${count} subscriptions to ${channel}`,
  );
}

/** The names of the connections Redis has for the bus on `channel` (or the ticket store of a prefix). */
async function connectionsOf(admin: Redis, suffix: string): Promise<string[]> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return [...list.matchAll(/ name=(\S+) /g)]
    .map((match) => match[1]!)
    .filter((name) => name.endsWith(`:${suffix}`))
    .sort();
}

/**
 * The names `connectionsOf` gives once Redis has seen a closed connection go: a connection closed
 * on our side is still listed until the server reads its end. Times out naming `expected`.
 */
async function connectionsOnceSettled(
  admin: Redis,
  suffix: string,
  expected: string[],
): Promise<string[]> {
  await until(
    async () => JSON.stringify(await connectionsOf(admin, suffix)) === JSON.stringify(expected),
    `the connections of ${suffix} to be ${expected.join(', ') || 'none'}`,
  ).catch(() => {});
  return connectionsOf(admin, suffix);
}

/** Resolves with what `promise` rejected with, failing the test if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but it resolved');
}

/** A redis-server of the test's own, since the test kills or pauses it. */
async function ownRedis(): Promise<RedisServer> {
  const server = await startRedisServer();
  onTestFinished(() => server.stop());
  return server;
}

describe('createRedisDisconnectBus', () => {
  it('a message published by one process reaches the listeners of every process, as JSON on the channel', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const raw: string[] = [];
    const rawSubscriber = adminClient(redis.current.url);
    rawSubscriber.on('message', (_channel: string, payload: string) => raw.push(payload));
    await rawSubscriber.subscribe(channel);

    const a = busFor({ channel });
    const b = busFor({ channel });
    const onA = listen(a);
    const onB1 = listen(b);
    const onB2 = listen(b);
    // One subscriber connection per bus, whatever its number of listeners; and the raw one.
    await subscribed(admin, channel, 3);

    await a.publish({ key: 'alice', refuseFor: 5000 });
    await a.publish({ key: 'bob' });
    const expected = [{ key: 'alice', refuseFor: 5000 }, { key: 'bob' }];
    await until(
      () => onB1.heard.length === 2 && onB2.heard.length === 2 && onA.heard.length === 2,
      'both messages on both buses',
    );
    expect(onB1.heard).toEqual(expected);
    expect(onB2.heard).toEqual(expected);
    // The publishing bus hears its own messages too: they come back from Redis.
    expect(onA.heard).toEqual(expected);
    expect(raw).toEqual(['{"key":"alice","refuseFor":5000}', '{"key":"bob"}']);
    expect([...a.reported, ...b.reported]).toEqual([]);
    expect(await connectionsOf(admin, channel)).toEqual([
      `sse-disconnects-sub:${channel}`,
      `sse-disconnects-sub:${channel}`,
      `sse-disconnects:${channel}`,
      `sse-disconnects:${channel}`,
    ]);
  });

  it('ignores and reports a payload that is not a disconnect message, from whoever published it', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const b = busFor({ channel });
    const onB = listen(b);
    await subscribed(admin, channel, 1);

    const malformed = [
      'not json',
      '{"key":""}',
      '{"key":"x","refuseFor":-1}',
      '{"key":"x","refuseFor":"5000"}',
      '[]',
      'null',
      `{"key":"${'x'.repeat(300)}`,
    ];
    for (const payload of malformed) await admin.publish(channel, payload);
    await admin.publish(channel, '{"key":"carol","refuseFor":0,"extra":true}');
    await until(() => onB.heard.length === 1, 'the valid message');

    expect(onB.heard).toEqual([{ key: 'carol', refuseFor: 0 }]);
    expect(b.reported.map((error) => error.message)).toEqual([
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "not json"`,
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "{\\"key\\":\\"\\"}"`,
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "{\\"key\\":\\"x\\",\\"refuseFor\\":-1}"`,
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "{\\"key\\":\\"x\\",\\"refuseFor\\":\\"5000\\"}"`,
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "[]"`,
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "null"`,
      `ignored a message on "${channel}" that is not a disconnect message {"key":…,"refuseFor"?:…}: "{\\"key\\":\\"${'x'.repeat(192)}…"`,
    ]);
  });

  it('a listener that throws does not stop the others, and is reported', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const a = busFor({ channel });
    const b = busFor({ channel });
    b.subscribe(() => {
      throw new Error('first listener failed');
    });
    const onB = listen(b);
    b.subscribe(() => {
      throw new Error('third listener failed');
    });
    const onB2 = listen(b);
    await subscribed(admin, channel, 1);

    await a.publish({ key: 'alice' });
    await a.publish({ key: 'bob' });
    await until(() => onB2.heard.length === 2, 'both messages');
    expect(onB.heard).toEqual([{ key: 'alice' }, { key: 'bob' }]);
    expect(onB2.heard).toEqual([{ key: 'alice' }, { key: 'bob' }]);
    expect(b.reported.map((error) => error.message)).toEqual([
      `a listener of the disconnect bus on "${channel}" threw: first listener failed`,
      `a listener of the disconnect bus on "${channel}" threw: third listener failed`,
      `a listener of the disconnect bus on "${channel}" threw: first listener failed`,
      `a listener of the disconnect bus on "${channel}" threw: third listener failed`,
    ]);
    expect(b.reported[0]!.cause).toEqual(new Error('first listener failed'));
  });

  it('stops listening when the last listener leaves, and subscribes again for a new one', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const a = busFor({ channel });
    const b = busFor({ channel });
    const first = listen(b);
    const second = listen(b);
    await subscribed(admin, channel, 1);
    first.stop();
    first.stop(); // twice is once
    await a.publish({ key: 'alice' });
    await until(() => second.heard.length === 1, 'the message on the remaining listener');
    expect(first.heard).toEqual([]);
    second.stop();
    await subscribed(admin, channel, 0);

    const third = listen(b);
    await subscribed(admin, channel, 1);
    await a.publish({ key: 'bob' });
    await until(() => third.heard.length === 1, 'the message on the new listener');
    expect(third.heard).toEqual([{ key: 'bob' }]);
    expect(second.heard).toEqual([{ key: 'alice' }]);
  });

  it('close() stops delivery, unsubscribes and closes its connections; later calls are refused', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const a = busFor({ channel });
    const b = busFor({ channel });
    const onA = listen(a);
    const onB = listen(b);
    await subscribed(admin, channel, 2);

    const closing = b.close();
    expect(b.close()).toBe(closing);
    await closing;
    expect(await subscribers(admin, channel)).toBe(1);
    const open = [`sse-disconnects-sub:${channel}`, `sse-disconnects:${channel}`];
    expect(await connectionsOnceSettled(admin, channel, open)).toEqual(open);

    await a.publish({ key: 'alice' });
    await until(() => onA.heard.length === 1, 'the message on the open bus');
    await sleep(100);
    expect(onB.heard).toEqual([]);
    await expect(b.publish({ key: 'alice' })).rejects.toThrow(
      `cannot publish a disconnect on "${channel}": the Redis disconnect bus is closed`,
    );
    expect(() => b.subscribe(() => {})).toThrow(
      'cannot subscribe: the Redis disconnect bus is closed',
    );
    expect(b.reported).toEqual([]);
  });

  it('with a client: publishes through it, subscribes through a duplicate, and never closes it', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const client = new Redis(redis.current.url, { connectionName: `mine:${channel}` });
    onTestFinished(() => {
      client.disconnect();
    });
    const bus = busFor({ client, channel });
    const heard = listen(bus);
    await subscribed(admin, channel, 1);
    await bus.publish({ key: 'alice' });
    await until(() => heard.heard.length === 1, 'the message');
    expect(await connectionsOf(admin, channel)).toEqual([
      `mine:${channel}`,
      `sse-disconnects-sub:${channel}`,
    ]);
    await bus.close();
    const mine = [`mine:${channel}`];
    expect(await connectionsOnceSettled(admin, channel, mine)).toEqual(mine);
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
  });

  it('refuses to publish what is not a disconnect message', async () => {
    const bus = busFor({ channel: uniqueName('disconnect') });
    await expect(bus.publish({ key: '' })).rejects.toThrow(
      new TypeError(
        'publish(message) must be a message { key, refuseFor? }, received {"key":""} (Object)',
      ),
    );
    await expect(bus.publish({ key: 'a', refuseFor: 1.5 })).rejects.toThrow(TypeError);
    expect(() => bus.subscribe('listener' as never)).toThrow(
      new TypeError('subscribe(listener) must be a function, received "listener" (string)'),
    );
  });

  it('subscribes again after its connection is cut, and reports the outage once', async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const a = busFor({ channel });
    const b = busFor({ channel });
    const onB = listen(b);
    await subscribed(admin, channel, 1);
    await a.publish({ key: 'before' });
    await until(() => onB.heard.length === 1, 'the first message');

    const list = (await admin.call('CLIENT', 'LIST')) as string;
    const id = list
      .split('\n')
      .find((line) => line.includes(` name=sse-disconnects-sub:${channel} `))
      ?.match(/^id=(\d+) /)?.[1];
    expect(id).toBeDefined();
    await admin.call('CLIENT', 'KILL', 'ID', id!);
    await until(() => b.reported.length > 0, 'the outage to be reported');
    await subscribed(admin, channel, 1);

    await a.publish({ key: 'after' });
    await until(() => onB.heard.length === 2, 'the message after the reconnect');
    expect(onB.heard).toEqual([{ key: 'before' }, { key: 'after' }]);
    expect(b.reported).toHaveLength(1);
    expect(b.reported[0]?.message).toMatch(
      new RegExp(
        `^the disconnect bus on "${channel}" has no connection to Redis.*: it reconnects and subscribes again; disconnects published meanwhile are not received$`,
      ),
    );
  });

  it('while Redis is down, publishing rejects at once with a RedisUnavailableError; then it all resumes', async () => {
    const own = await ownRedis();
    const channel = uniqueName('disconnect');
    const a = busFor({ url: own.url, channel });
    const b = busFor({ url: own.url, channel });
    const onB = listen(b);
    await subscribed(adminClient(own.url), channel, 1);
    await own.kill();

    // The first attempt may be the one that finds the connection gone.
    expect(await rejection(a.publish({ key: 'alice' }))).toBeInstanceOf(RedisUnavailableError);
    const started = performance.now();
    const known = await rejection(a.publish({ key: 'alice' }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(known).toBeInstanceOf(RedisUnavailableError);
    expect(known.message).toMatch(
      new RegExp(`^cannot publish a disconnect on "${channel}": Redis is unreachable \\(.+\\)$`),
    );
    await until(() => b.reported.length > 0, 'the subscription to report the outage');

    await own.restart();
    await subscribed(adminClient(own.url), channel, 1);
    await until(
      () =>
        a.publish({ key: 'after' }).then(
          () => true,
          () => false,
        ),
      "the publishing bus's reconnection",
    );
    await until(() => onB.heard.length === 1, 'the message after the restart');
    expect(onB.heard).toEqual([{ key: 'after' }]);
    expect(b.reported).toHaveLength(1);
  });

  it('publishing to a Redis that cannot be reached rejects instead of waiting', async () => {
    const bus = busFor({ url: 'redis://127.0.0.1:1', channel: uniqueName('disconnect') });
    const started = performance.now();
    const error = await rejection(bus.publish({ key: 'alice' }));
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error.message).toMatch(/Redis is unreachable \(.*ECONNREFUSED.*\)$/);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a publish Redis does not answer rejects after 10 s, not never', async () => {
    const own = await ownRedis();
    const channel = uniqueName('disconnect');
    const bus = busFor({ url: own.url, channel });
    await bus.publish({ key: 'warm-up' });
    process.kill(own.pid!, 'SIGSTOP');
    try {
      const started = performance.now();
      const error = await rejection(bus.publish({ key: 'alice' }));
      const waited = performance.now() - started;
      expect(error).toBeInstanceOf(RedisUnavailableError);
      expect(error.message).toBe(
        `cannot publish a disconnect on "${channel}": no answer from Redis within 10000 ms: it may or may not have run`,
      );
      expect(waited).toBeGreaterThan(9_000);
      expect(waited).toBeLessThan(15_000);
    } finally {
      process.kill(own.pid!, 'SIGCONT');
    }
  });

  it.each([
    [undefined, 'createRedisDisconnectBus(options) must be an object, received undefined'],
    [
      { url: 'redis://x', topic: 'x' },
      'createRedisDisconnectBus(options).topic must be one of url, client, channel, onError, received "topic" (string)',
    ],
    [
      {},
      'createRedisDisconnectBus(options) must be an object with either `url` or `client` (not both), received {} (Object)',
    ],
    [
      { url: 'http://127.0.0.1:6379' },
      'createRedisDisconnectBus(options).url must be a redis:// or rediss:// URL, received "http://127.0.0.1:6379" (string)',
    ],
    [
      { client: {} },
      'createRedisDisconnectBus(options).client must be an ioredis client (new Redis(…)), received {} (Object)',
    ],
    [
      { url: 'redis://x', channel: '' },
      'createRedisDisconnectBus(options).channel must be a non-empty string, received "" (string)',
    ],
    [
      { url: 'redis://x', channel: 7 },
      'createRedisDisconnectBus(options).channel must be a non-empty string, received 7 (number)',
    ],
    [
      { url: 'redis://x', onError: 'log' },
      'createRedisDisconnectBus(options).onError must be a function, received "log" (string)',
    ],
  ])('refuses the options %j with a TypeError naming them', (options, expected) => {
    expect(() => createRedisDisconnectBus(options as RedisDisconnectBusOptions)).toThrow(
      new TypeError(expected),
    );
  });
});

/** A stream's output, as a client gets it. */
class StreamSink implements SseSink {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  status: number | undefined;
  headers: Readonly<Record<string, string>> = {};
  text = '';
  closed = false;
  private readonly decoder = new TextDecoder();

  head(status: number, headers: Readonly<Record<string, string>>): void {
    this.status = status;
    this.headers = headers;
  }

  write(chunk: Uint8Array): undefined {
    this.text += this.decoder.decode(chunk, { stream: true });
    return undefined;
  }

  close(): void {
    this.closed = true;
  }

  /** The client goes away. */
  leave(): void {
    this.controller.abort();
  }

  /** The events received, each as its lines. */
  get events(): string[][] {
    return this.text
      .split('\n\n')
      .filter((block) => block.trim() !== '')
      .map((block) => block.split('\n').filter((line) => !line.startsWith(':')))
      .filter((lines) => lines.length > 0);
  }
}

/** One "process": an engine whose streams stay open (an event, then nothing) until they are ended. */
function engineFor(options: SseOptions): SseEngine {
  const engine = createSseEngine({
    source: async function* (_req, ctx) {
      yield { event: 'hello', data: 'open' };
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
    },
    heartbeat: 0,
    ...options,
  });
  onTestFinished(() => engine.close({ event: null, timeout: 1000 }));
  return engine;
}

/**
 * Opens a stream on `engine`, of `user` (an `x-user` header) or with `query`; resolves once its
 * head is sent, and for a 200 its first event.
 */
async function open(engine: SseEngine, user?: string, query = ''): Promise<StreamSink> {
  const sink = new StreamSink();
  const headers: Record<string, string> = user ? { 'x-user': user } : {};
  const served = engine.serve(
    createRequestView({ method: 'GET', url: `/?stream=true${query}`, headers }),
    sink,
  );
  onTestFinished(() => {
    sink.leave();
    return served;
  });
  await until(() => sink.status !== undefined, 'the response head');
  if (sink.status === 200) await until(() => sink.text.includes('event: hello'), 'the first event');
  return sink;
}

describe('engines of two processes on two buses', () => {
  it("engine A's disconnect({ key, refuseFor }) ends alice's stream on engine B with event: reauth, and B refuses her; bob stays", async () => {
    const channel = uniqueName('disconnect');
    const admin = adminClient(redis.current.url);
    const busA = busFor({ channel });
    const busB = busFor({ channel });
    const engineA = engineFor({ authorize: () => ({ key: 'alice' }), disconnects: busA });
    const engineB = engineFor({
      authorize: (req) => ({ key: req.headers.get('x-user') ?? 'alice' }),
      disconnects: busB,
    });
    await subscribed(admin, channel, 2);

    const alice = await open(engineB, 'alice');
    const bob = await open(engineB, 'bob');
    expect([alice.status, bob.status]).toEqual([200, 200]);
    expect(engineB.connections.active).toBe(2);

    // Engine A has no stream of alice: it ends none itself, and tells every engine on the bus.
    expect(await engineA.disconnect({ key: 'alice', refuseFor: 5000 })).toBe(0);
    await until(() => alice.closed, "alice's stream on B to end");
    expect(alice.events.at(-1)).toEqual(['event: reauth', 'data: {"reason":"revoked"}']);
    expect(alice.text.endsWith('event: reauth\ndata: {"reason":"revoked"}\n\n')).toBe(true);

    const again = await open(engineB, 'alice');
    expect(again.status).toBe(401);
    expect(again.headers['WWW-Authenticate']).toContain('error="invalid_token"');
    // Engine A refuses her too: its disconnect() applies here first, then is published.
    expect((await open(engineA)).status).toBe(401);

    await sleep(50);
    expect(bob.closed).toBe(false);
    expect(bob.events.map((event) => event[0])).toEqual(['event: hello']);
    expect(engineB.connections.active).toBe(1);
    expect((await open(engineB, 'bob')).status).toBe(200);
    expect([...busA.reported, ...busB.reported]).toEqual([]);
  });
});

describe('createRedisTicketStore', () => {
  it('a ticket issued on one process is redeemed on another, once; a Date expiresAt arrives as ms', async () => {
    const prefix = uniqueName('ticket');
    const issuer = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const redeemer = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const expiresAt = new Date(Date.now() + 3_600_000);
    const principal = {
      key: 'alice',
      topics: ['user:alice'],
      expiresAt,
      claims: { role: 'admin' },
    };
    const { ticket, expiresAt: ticketExpiresAt } = await issuer.issue(principal);
    expect(ticketExpiresAt).toBeGreaterThan(Date.now());

    const admin = adminClient(redis.current.url);
    const ttl = await admin.pttl(`${prefix}:${ticket}`);
    expect(ttl).toBeGreaterThan(25_000);
    expect(ttl).toBeLessThanOrEqual(30_000);

    expect(await redeemer.redeem(ticket)).toEqual({
      key: 'alice',
      topics: ['user:alice'],
      expiresAt: expiresAt.getTime(),
      claims: { role: 'admin' },
    });
    expect(await redeemer.redeem(ticket)).toBeUndefined();
    expect(await issuer.redeem(ticket)).toBeUndefined();
    expect(await admin.exists(`${prefix}:${ticket}`)).toBe(0);
  });

  it('of two processes redeeming one ticket at once, exactly one gets the principal', async () => {
    const prefix = uniqueName('ticket');
    const issuer = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const one = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const two = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    for (let round = 0; round < 20; round += 1) {
      const { ticket } = await issuer.issue({ key: `user-${round}` });
      const results = await Promise.all([one.redeem(ticket), two.redeem(ticket)]);
      expect(results.filter((result) => result !== undefined)).toEqual([{ key: `user-${round}` }]);
    }
  });

  it("a ticket issued on one process opens one stream on another process's engine, once", async () => {
    const prefix = uniqueName('ticket');
    const issuer = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const tickets = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const engine = engineFor({
      authorize: (req) => tickets.redeem(new URLSearchParams(req.query).get('ticket')),
    });
    const { ticket } = await issuer.issue({ key: 'alice' });
    const first = await open(engine, undefined, `&ticket=${ticket}`);
    expect(first.status).toBe(200);
    expect(first.events[0]).toEqual(['event: hello', 'data: open']);
    expect((await open(engine, undefined, `&ticket=${ticket}`)).status).toBe(401);
    expect((await open(engine, undefined, '&ticket=nonsense')).status).toBe(401);
  });

  it('an expired ticket gives undefined', async () => {
    const prefix = uniqueName('ticket');
    const issuer = createStreamTickets({ ttl: 50, store: ticketStoreFor({ prefix }) });
    const redeemer = createStreamTickets({ store: ticketStoreFor({ prefix }) });
    const { ticket } = await issuer.issue({ key: 'alice' });
    await sleep(120);
    expect(await redeemer.redeem(ticket)).toBeUndefined();
  });

  it('put is SET PX and take is GETDEL, under <prefix>:<ticket>', async () => {
    const prefix = uniqueName('ticket');
    const store = ticketStoreFor({ prefix });
    const admin = adminClient(redis.current.url);
    await store.put('t1', 'value', 10_000);
    expect(await admin.get(`${prefix}:t1`)).toBe('value');
    expect(await admin.pttl(`${prefix}:t1`)).toBeGreaterThan(9_000);
    expect(await store.take('t1')).toBe('value');
    expect(await store.take('t1')).toBeUndefined();
    expect(await store.take('never-put')).toBeUndefined();
    await expect(store.put('t2', 'value', 0)).rejects.toThrow(
      new TypeError(
        'put(ticket, value, ttlMs).ttlMs must be an integer of ms from 1 to 2147483647, received 0 (number)',
      ),
    );
    await expect(store.take('')).rejects.toThrow(
      new TypeError('take(ticket) must be a non-empty string, received "" (string)'),
    );
  });

  it('the default prefix is sse-middleware:ticket', async () => {
    const store = ticketStoreFor();
    const admin = adminClient(redis.current.url);
    const ticket = uniqueName('default');
    await store.put(ticket, 'v', 10_000);
    expect(await admin.get(`sse-middleware:ticket:${ticket}`)).toBe('v');
    expect(await store.take(ticket)).toBe('v');
  });

  it('with a client: commands go through it, and close() leaves it open', async () => {
    const prefix = uniqueName('ticket');
    const client = new Redis(redis.current.url);
    onTestFinished(() => {
      client.disconnect();
    });
    const store = ticketStoreFor({ client, prefix });
    await store.put('t', 'v', 10_000);
    expect(await client.get(`${prefix}:t`)).toBe('v');
    await store.close();
    expect(client.status).toBe('ready');
    await expect(store.take('t')).rejects.toThrow(
      `cannot take a ticket from "${prefix}": the Redis ticket store is closed`,
    );
    expect(await client.get(`${prefix}:t`)).toBe('v');
  });

  it('close() closes its connection; is idempotent', async () => {
    const prefix = uniqueName('ticket');
    const admin = adminClient(redis.current.url);
    const store = createRedisTicketStore({ url: redis.current.url, prefix });
    await store.put('t', 'v', 10_000);
    expect(await connectionsOf(admin, prefix)).toEqual([`sse-tickets:${prefix}`]);
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await closing;
    expect(await connectionsOnceSettled(admin, prefix, [])).toEqual([]);
    await expect(store.put('t', 'v', 1000)).rejects.toThrow(
      `cannot put a ticket in "${prefix}": the Redis ticket store is closed`,
    );
  });

  it('rejects with a RedisUnavailableError when Redis cannot be reached', async () => {
    const store = ticketStoreFor({ url: 'redis://127.0.0.1:1' });
    const tickets = createStreamTickets({ store });
    const issued = await rejection(tickets.issue({ key: 'alice' }));
    expect(issued).toBeInstanceOf(RedisUnavailableError);
    expect(issued.message).toMatch(
      /^cannot put a ticket in "sse-middleware:ticket": Redis is unreachable \(/,
    );
    const taken = await rejection(store.take('x'));
    expect(taken).toBeInstanceOf(RedisUnavailableError);
  });

  it.each([
    [null, 'createRedisTicketStore(options) must be an object, received null'],
    [
      { url: 'redis://x', ttl: 5 },
      'createRedisTicketStore(options).ttl must be one of url, client, prefix, received "ttl" (string)',
    ],
    [
      { url: 'redis://x', prefix: '' },
      'createRedisTicketStore(options).prefix must be a non-empty string, received "" (string)',
    ],
    [
      { url: 'redis://x', prefix: ['a'] },
      'createRedisTicketStore(options).prefix must be a non-empty string, received an array of length 1',
    ],
  ])('refuses the options %j with a TypeError naming them', (options, expected) => {
    expect(() => createRedisTicketStore(options as RedisTicketStoreOptions)).toThrow(
      new TypeError(expected),
    );
  });

  it('refuses url and client together, and a Cluster client', () => {
    const client = new Redis('redis://127.0.0.1:1', { lazyConnect: true });
    expect(() => createRedisTicketStore({ url: 'redis://x', client })).toThrow(
      new TypeError(
        'createRedisTicketStore(options) must be an object with either `url` or `client` (not both), received {"url":"redis://x","client":"a client"} (Object)',
      ),
    );
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    expect(() => createRedisDisconnectBus({ client: cluster as unknown as Redis })).toThrow(
      new TypeError(
        'createRedisDisconnectBus(options).client must be a client of one Redis server (new Redis(…)), not a Cluster: the bus listens on one server, received "a Cluster client" (string)',
      ),
    );
  });
});
