import { describe, expect, it } from 'vitest';
import { createRequestView, createSseEngine } from '../src/adapter.js';
import {
  createDisconnectBus,
  createMemoryTicketStore,
  createResumableStreams,
  createStreamTickets,
  deny,
  type SseOptions,
} from '../src/index.js';
import { MemorySink } from './support/memory-sink.js';
import { sleep, thrown, waitFor } from './support/util.js';

const request = (headers: Record<string, string> = {}) =>
  createRequestView({ method: 'GET', url: '/?stream=true', headers });

const held = () => ({
  async *[Symbol.asyncIterator]() {
    yield { data: 'open' };
    await new Promise(() => {});
  },
});

const engineWith = (options: SseOptions) =>
  createSseEngine({ source: held, heartbeat: 0, ...options });

describe('authorize options', () => {
  it('refuses bad values with a TypeError naming the option', () => {
    expect(thrown(() => engineWith({ authorize: 'yes' as never })).message).toMatch(
      /^options\.authorize must be a function/,
    );
    expect(
      thrown(() => engineWith({ authorize: () => undefined, authorizeTimeout: 0 })).message,
    ).toMatch(/^options\.authorizeTimeout must be a positive integer of ms/);
    expect(thrown(() => engineWith({ revalidate: { every: 1000 } })).message).toMatch(
      /^options\.revalidate\.check must be a function when there is no options\.authorize/,
    );
    expect(
      thrown(() => engineWith({ authorize: () => undefined, revalidate: { every: -1 } })).message,
    ).toMatch(/^options\.revalidate\.every must be a positive integer/);
    expect(thrown(() => engineWith({ disconnects: {} as never })).message).toMatch(
      /^options\.disconnects must be a DisconnectBus/,
    );
  });

  it('deny() takes 4xx statuses only, and gives a 401 its WWW-Authenticate', () => {
    expect(thrown(() => deny(200)).message).toMatch(/^deny\(status\) must be a 4xx HTTP status/);
    expect(thrown(() => deny(503)).message).toMatch(/4xx/);
    expect(deny(401).answer.headers).toMatchObject({ 'WWW-Authenticate': 'Bearer realm="sse"' });
    expect(
      deny(401, { headers: { 'www-authenticate': 'Basic' } }).answer.headers,
    ).not.toHaveProperty('WWW-Authenticate');
    expect(deny(403).answer).toMatchObject({ status: 403, body: '403 Forbidden.' });
  });

  it('engine.disconnect() validates its filter and counts the streams it ended', async () => {
    const engine = engineWith({ authorize: (req) => ({ key: req.headers.get('x-user') ?? '' }) });
    await expect(engine.disconnect({ key: '' })).rejects.toThrow(
      /^disconnect\(filter\)\.key must be a non-empty string/,
    );
    await expect(engine.disconnect({ key: 'a', refuseFor: -5 })).rejects.toThrow(
      /^disconnect\(filter\)\.refuseFor must be a non-negative integer/,
    );
    const sinks = ['alice', 'alice', 'bob'].map(() => new MemorySink());
    const done = ['alice', 'alice', 'bob'].map((user, i) =>
      engine.serve(request({ 'x-user': user }), sinks[i]!),
    );
    await waitFor(() => engine.connections.active === 3, 'three streams');
    expect(await engine.disconnect({ key: 'alice' })).toBe(2);
    await Promise.all(done.slice(0, 2));
    expect(sinks[0]!.text).toContain('event: reauth\ndata: {"reason":"revoked"}\n\n');
    expect(engine.stats()).toMatchObject({ open: 1 });
    // Without refuseFor, alice may come back at once.
    const again = new MemorySink();
    void engine.serve(request({ 'x-user': 'alice' }), again);
    await waitFor(() => again.status !== undefined, 'a head');
    expect(again.status).toBe(200);
    await engine.close({ timeout: 100 });
  });

  it('a principal from authorize that is no principal is a 500, reported', async () => {
    const errors: unknown[] = [];
    const engine = engineWith({
      authorize: () => ({ key: 'a', topics: 'all' }) as never,
      onError: (error) => errors.push(error),
    });
    const sink = new MemorySink();
    await engine.serve(request(), sink);
    expect(sink.status).toBe(500);
    expect(String(errors[0])).toMatch(/principal from options\.authorize\.topics must be an array/);
  });

  it('an expiry past the longest timer does not end the stream early', async () => {
    const engine = engineWith({
      authorize: () => ({ key: 'a', expiresAt: Date.now() + 2 ** 31 + 60_000 }),
    });
    const sink = new MemorySink();
    void engine.serve(request(), sink);
    await waitFor(() => sink.text.includes('open'), 'the first event');
    await sleep(20);
    expect(engine.connections.active).toBe(1);
    await engine.close({ timeout: 100 });
  });

  it('a disconnect bus joins the engines of one process; close() stops hearing it', async () => {
    const disconnects = createDisconnectBus();
    const auth = { authorize: () => ({ key: 'alice' }), disconnects };
    const one = engineWith(auth);
    const two = engineWith(auth);
    const sinks = [new MemorySink(), new MemorySink()];
    void one.serve(request(), sinks[0]!);
    void two.serve(request(), sinks[1]!);
    await waitFor(() => one.connections.active + two.connections.active === 2, 'two streams');
    expect(await one.disconnect({ key: 'alice', refuseFor: 1000 })).toBe(1);
    await waitFor(() => two.connections.active === 0, 'the other engine to end its stream');
    const refused = new MemorySink();
    await two.serve(request(), refused);
    expect(refused.status).toBe(401);
    await one.close({ timeout: 10 });
    await two.close({ timeout: 10 });
  });
});

describe('stream tickets', () => {
  it('a ticket is redeemed once, within its ttl; garbage is no ticket', async () => {
    const tickets = createStreamTickets({ ttl: 50 });
    const { ticket, expiresAt } = await tickets.issue({
      key: 'alice',
      topics: ['user:alice'],
      expiresAt: new Date(1_900_000_000_000),
    });
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(50);
    expect(await tickets.redeem(ticket)).toEqual({
      key: 'alice',
      topics: ['user:alice'],
      expiresAt: 1_900_000_000_000,
    });
    expect(await tickets.redeem(ticket)).toBeUndefined();
    for (const garbage of [undefined, null, '', 'x', `${ticket}x`, '../../etc/passwd']) {
      expect(await tickets.redeem(garbage)).toBeUndefined();
    }
    const late = await tickets.issue({ key: 'alice' });
    await sleep(70);
    expect(await tickets.redeem(late.ticket)).toBeUndefined();
  });

  it('validates its options and principals', async () => {
    expect(thrown(() => createStreamTickets({ ttl: 0 })).message).toMatch(
      /^createStreamTickets\(options\)\.ttl must be a positive integer/,
    );
    expect(thrown(() => createStreamTickets({ store: {} as never })).message).toMatch(
      /^createStreamTickets\(options\)\.store must be a TicketStore/,
    );
    await expect(createStreamTickets().issue({ key: '' })).rejects.toThrow(
      /^issue\(principal\)\.key must be a non-empty string/,
    );
  });

  it('the memory store sweeps tickets that expired unredeemed', async () => {
    const store = createMemoryTicketStore();
    store.put('a', 'x', 1);
    await sleep(1100);
    store.put('b', 'y', 60_000);
    expect(store.take('a')).toBeUndefined();
    expect(store.take('b')).toBe('y');
  });
});

describe('resumable streams with an owner', () => {
  it('are resumed and stopped only by their owner; ids are per owner', async () => {
    const chats = createResumableStreams();
    const words = async function* () {
      yield 'hello';
      await sleep(50);
    };
    await chats.start('chat-1', words, { owner: 'alice' });
    await chats.start('chat-1', words, { owner: 'bob' });
    await chats.start('chat-1', words);
    expect((await chats.resume('chat-1', undefined, { owner: 'alice' })).status).toBe(200);
    expect((await chats.resume('chat-1', undefined, { owner: 'mallory' })).status).toBe(404);
    expect(await chats.stop('chat-1', { owner: 'mallory' })).toBe(false);
    expect(await chats.stop('chat-1', { owner: 'bob' })).toBe(true);
    await expect(chats.resume('chat-1', undefined, { owner: 7 as never })).rejects.toThrow(
      /^resume\(…, options\)\.owner must be a non-empty string/,
    );
    await chats.close();
  });
});
