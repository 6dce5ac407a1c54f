import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createChannel,
  createDisconnectBus,
  createStreamTickets,
  deny,
  type SsePrincipal,
  type SseRequest,
  uriMatch,
} from '@sse-middleware/core';
import { chromium } from 'playwright-core';
import { expect, it } from 'vitest';
import { assertChromium, CHROMIUM_FLAGS, CHROMIUM_PATH } from '../clients/chromium.js';
import type { ConformanceHarness } from '../harness.js';
import { fetchRaw, openStream, type RawStream, sleep } from '../http-client.js';
import { rawConnect } from '../raw-socket.js';
import { itWhen } from './capabilities.js';
import { errorRecorder, serve, signalled } from './context.js';

const streamOptions = { requestMatcher: uriMatch('/events'), heartbeat: 0 } as const;

/** A source that tells who it streams for, then stays open until the client leaves. */
const whoAmI = (_req: SseRequest, ctx: { principal?: SsePrincipal | undefined }) => ({
  async *[Symbol.asyncIterator]() {
    yield { data: ctx.principal?.key ?? '(nobody)' };
    await new Promise(() => {});
  },
});

/** `Authorization: Bearer <user>` as the user's name: a stand-in for a verified token. */
const bearerUser = (req: SseRequest): SsePrincipal | undefined => {
  const match = /^Bearer ([a-z]+)$/.exec(req.headers.get('authorization') ?? '');
  return match ? { key: match[1]!, topics: [`user:${match[1]}`] } : undefined;
};
const as = (user: string) => ({ authorization: `Bearer ${user}` });

const isStream = (headers: Record<string, unknown>) =>
  /event-stream/.test(String(headers['content-type'] ?? ''));

export function authorizationTests(harness: ConformanceHarness): void {
  it('authorize: no credentials is a 401 with WWW-Authenticate, a deny() its own answer; neither is a stream', async () => {
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      authorize: (req) => {
        if (req.headers.get('x-banned')) {
          return deny(403, {
            headers: { 'Content-Type': 'application/json' },
            body: '{"error":"banned"}',
          });
        }
        return bearerUser(req);
      },
    });
    const none = await fetchRaw(`${server.url}/events`);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    expect(isStream(none.headers)).toBe(false);
    const forged = await fetchRaw(`${server.url}/events`, {
      headers: { authorization: 'Bearer ALICE; DROP' },
    });
    expect(forged.status).toBe(401);
    const banned = await fetchRaw(`${server.url}/events`, {
      headers: { ...as('mallory'), 'x-banned': '1' },
    });
    expect(banned.status).toBe(403);
    expect(banned.body).toBe('{"error":"banned"}');
    expect(isStream(banned.headers)).toBe(false);
    await expectStreamFor(server.url, 'alice');
  });

  it('authorize that throws is a 500 and one that hangs a 503 past authorizeTimeout (its signal aborted); neither holds a slot', async () => {
    const { errors, onError } = errorRecorder();
    const aborted = signalled<unknown>();
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      maxConnections: 1,
      authorizeTimeout: 150,
      onError,
      authorize: (req, { signal }) => {
        const mode = req.headers.get('x-mode');
        if (mode === 'throw') throw new Error('identity provider down');
        if (mode === 'hang') {
          signal.addEventListener('abort', () => aborted.resolve(signal.reason), { once: true });
          return new Promise(() => {});
        }
        if (mode === 'reject') return Promise.reject(new Error('rejected'));
        if (mode === 'garbage') return { key: 42 } as unknown as SsePrincipal;
        return bearerUser(req);
      },
    });
    const thrown = await fetchRaw(`${server.url}/events`, {
      headers: { ...as('alice'), 'x-mode': 'throw' },
    });
    expect(thrown.status).toBe(500);
    expect(
      (await fetchRaw(`${server.url}/events`, { headers: { 'x-mode': 'reject' } })).status,
    ).toBe(500);
    expect(
      (await fetchRaw(`${server.url}/events`, { headers: { 'x-mode': 'garbage' } })).status,
    ).toBe(500);
    const started = Date.now();
    const hung = await fetchRaw(`${server.url}/events`, { headers: { 'x-mode': 'hang' } });
    expect(hung.status).toBe(503);
    expect(hung.headers['retry-after']).toBeDefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(String(await aborted.promise)).toMatch(/timed out/);
    expect(errors.map(String).join('\n')).toMatch(/identity provider down/);
    // The one slot is free: nothing refused above kept it.
    await expectStreamFor(server.url, 'alice');
  });

  it('authorize runs before a slot is taken: clients waiting on it do not stop an authorized one, and its stream is served after it', async () => {
    const gate = signalled();
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      maxConnections: 1,
      authorize: async (req) => {
        if (req.headers.get('x-slow')) await gate.promise;
        return bearerUser(req);
      },
    });
    const slow = [1, 2, 3].map(() =>
      fetchRaw(`${server.url}/events`, { headers: { 'x-slow': '1' } }),
    );
    await expectStreamFor(server.url, 'alice');
    gate.resolve();
    expect((await Promise.all(slow)).map((answer) => answer.status)).toEqual([401, 401, 401]);
  });

  it('clients that leave while authorize runs hold no slot, and the server goes on', async () => {
    let started = 0;
    let settled = 0;
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      maxConnections: 1,
      authorize: async (req) => {
        started += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        settled += 1;
        return bearerUser(req);
      },
    });
    // Forty clients send a request and leave before authorize has answered.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        requestThenDrop(`${server.url}/events`, as('mallory'), 5 + (i % 10)),
      ),
    );
    const deadline = Date.now() + 3000;
    await new Promise((resolve) => setTimeout(resolve, 60));
    while (settled < started && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(started).toBeGreaterThan(20);
    expect(settled).toBe(started);
    await expectStreamFor(server.url, 'alice');
  });

  it('revalidate without a check asks authorize again: a credential revoked meanwhile ends the stream', async () => {
    const valid = new Set(['alice', 'bob']);
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      authorize: (req) => {
        const principal = bearerUser(req);
        return principal && valid.has(principal.key) ? principal : undefined;
      },
      revalidate: { every: 80 },
    });
    const alice = await openStream(`${server.url}/events`, { headers: as('alice') });
    const bob = await openStream(`${server.url}/events`, { headers: as('bob') });
    try {
      await Promise.all([alice.waitForEvents(1), bob.waitForEvents(1)]);
      valid.delete('alice');
      await alice.ended;
      expect(alice.events.at(-1)).toMatchObject({ event: 'reauth', data: '{"reason":"revoked"}' });
      expect(bob.isEnded).toBe(false);
    } finally {
      alice.destroy();
      bob.destroy();
    }
  });

  it('topics: a stream gets only what its principal may read, live and by replay with another user’s Last-Event-ID', async () => {
    const channel = createChannel();
    const server = await serve(harness, {
      ...streamOptions,
      source: channel.source(),
      authorize: bearerUser,
    });
    const bob = await openStream(`${server.url}/events`, { headers: as('bob') });
    const alice = await openStream(`${server.url}/events`, { headers: as('alice') });
    const streams: RawStream[] = [bob, alice];
    try {
      await waitUntilSubscribed(channel, 2);
      const bobIds: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        bobIds.push((await channel.publish('dm', `secret ${i}`, { topic: 'user:bob' })).id);
      }
      await channel.publish('dm', 'hello alice', { topic: 'user:alice' });
      await channel.publish('news', 'for everyone');
      await bob.waitForEvents(4);
      await alice.waitForEvents(2);
      expect(alice.events.map((e) => e.data)).toEqual(['hello alice', 'for everyone']);
      expect(bob.events.map((e) => e.data)).toEqual([
        'secret 0',
        'secret 1',
        'secret 2',
        'for everyone',
      ]);
      // Alice replays from each of Bob's ids, and from the start: never one of his events.
      for (const lastEventId of [bobIds[0]!, bobIds[1]!, 'garbage']) {
        const replay = await openStream(`${server.url}/events`, {
          headers: { ...as('alice'), 'last-event-id': lastEventId },
        });
        streams.push(replay);
        await replay.waitForText((text) => text.includes('for everyone'));
        expect(replay.text).not.toContain('secret');
        // Not even an id of Bob's, in a replay-gap's oldestRetainedId.
        for (const id of bobIds) expect(replay.text).not.toContain(id);
      }
    } finally {
      for (const stream of streams) stream.destroy();
    }
  });

  it('expiresAt: the stream ends with event: reauth {"reason":"expired"}; a principal already expired is a 401', async () => {
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      authorize: (req) => {
        const principal = bearerUser(req);
        if (!principal) return undefined;
        const ms = Number(req.headers.get('x-valid-ms'));
        return { ...principal, expiresAt: new Date(Date.now() + ms) };
      },
    });
    const stream = await openStream(`${server.url}/events`, {
      headers: { ...as('alice'), 'x-valid-ms': '300' },
    });
    expect(stream.status).toBe(200);
    await stream.ended;
    const last = stream.events.at(-1);
    expect(last?.event).toBe('reauth');
    expect(JSON.parse(last?.data ?? 'null')).toEqual({ reason: 'expired' });
    const expired = await fetchRaw(`${server.url}/events`, {
      headers: { ...as('alice'), 'x-valid-ms': '-1000' },
    });
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toMatch(/invalid_token/);
  });

  it('disconnect({ key }) on the bus ends that key’s streams with event: reauth {"reason":"revoked"} and refuses it for refuseFor; others stay', async () => {
    const disconnects = createDisconnectBus();
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      authorize: bearerUser,
      disconnects,
    });
    const alice1 = await openStream(`${server.url}/events`, { headers: as('alice') });
    const alice2 = await openStream(`${server.url}/events`, { headers: as('alice') });
    const bob = await openStream(`${server.url}/events`, { headers: as('bob') });
    try {
      await Promise.all([alice1, alice2, bob].map((stream) => stream.waitForEvents(1)));
      await disconnects.publish({ key: 'alice', refuseFor: 60_000 });
      await Promise.all([alice1.ended, alice2.ended]);
      for (const stream of [alice1, alice2]) {
        expect(stream.events.at(-1)?.event).toBe('reauth');
        expect(stream.events.at(-1)?.data).toBe('{"reason":"revoked"}');
      }
      expect(bob.isEnded).toBe(false);
      expect((await fetchRaw(`${server.url}/events`, { headers: as('alice') })).status).toBe(401);
      // A malformed message on the bus ends nothing.
      await disconnects.publish({ key: 42 } as never);
      expect(bob.isEnded).toBe(false);
    } finally {
      for (const stream of [alice1, alice2, bob]) stream.destroy();
    }
  });

  it('revalidate: a stream whose check fails ends with event: reauth {"reason":"revoked"}; one that passes goes on', async () => {
    const revoked = new Set<string>();
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      authorize: bearerUser,
      revalidate: { every: 100, check: (principal) => !revoked.has(principal.key) },
    });
    const alice = await openStream(`${server.url}/events`, { headers: as('alice') });
    const bob = await openStream(`${server.url}/events`, { headers: as('bob') });
    try {
      await Promise.all([alice.waitForEvents(1), bob.waitForEvents(1)]);
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(alice.isEnded).toBe(false);
      revoked.add('alice');
      await alice.ended;
      expect(alice.events.at(-1)?.event).toBe('reauth');
      expect(bob.isEnded).toBe(false);
    } finally {
      alice.destroy();
      bob.destroy();
    }
  });

  it('stream tickets: a ticket opens one stream as its principal; used twice, forged or expired it is a 401', async () => {
    const tickets = createStreamTickets({ ttl: 200 });
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      authorize: (req) => tickets.redeem(new URLSearchParams(req.query).get('ticket')),
    });
    const { ticket } = await tickets.issue({ key: 'alice' });
    const first = await openStream(`${server.url}/events?ticket=${ticket}`);
    try {
      expect(first.status).toBe(200);
      expect((await first.waitForEvents(1))[0]?.data).toBe('alice');
    } finally {
      first.destroy();
    }
    expect((await fetchRaw(`${server.url}/events?ticket=${ticket}`)).status).toBe(401);
    const forged = `${ticket.slice(0, -1)}${ticket.endsWith('A') ? 'B' : 'A'}`;
    expect((await fetchRaw(`${server.url}/events?ticket=${forged}`)).status).toBe(401);
    const late = await tickets.issue({ key: 'alice' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetchRaw(`${server.url}/events?ticket=${late.ticket}`)).status).toBe(401);
  });

  it('route-level: authorize runs before the body is read (no credentials and a body past maxBytes is a 401, not a 413)', async () => {
    const server = await harness.startRoute({
      body: { type: 'json', maxBytes: 64 },
      heartbeat: 0,
      authorize: bearerUser,
      source: (_req, ctx) => [
        { data: `${ctx.principal?.key}: ${(ctx.body as { text: string }).text}` },
      ],
    });
    try {
      const big = JSON.stringify({ text: 'x'.repeat(1000) });
      const anonymous = await openStream(`${server.url}/route`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: big,
      });
      anonymous.destroy();
      expect(anonymous.status).toBe(401);
      const tooBig = await openStream(`${server.url}/route`, {
        method: 'POST',
        headers: { ...as('alice'), 'content-type': 'application/json' },
        body: big,
      });
      tooBig.destroy();
      expect(tooBig.status).toBe(413);
      const stream = await openStream(`${server.url}/route`, {
        method: 'POST',
        headers: { ...as('alice'), 'content-type': 'application/json' },
        body: '{"text":"hi"}',
      });
      await stream.ended;
      expect(stream.events.map((e) => e.data)).toEqual(['alice: hi']);
    } finally {
      await server.close();
    }
  });

  it('in Chromium: a cookie-authenticated EventSource streams on its own origin; a foreign page sending the same cookie gets a 403 and no event', async () => {
    assertChromium();
    let asked = 0;
    const server = await serve(harness, {
      ...streamOptions,
      source: whoAmI,
      allowedOrigins: ['same-origin'],
      authorize: (req) => {
        asked += 1;
        const session = /(?:^|;\s*)session=([a-z]+)/.exec(req.headers.get('cookie') ?? '')?.[1];
        return session ? { key: session } : undefined;
      },
    });
    // Another origin on the same host: cookies are per host, so the browser sends the session here too.
    const foreign = createServer((_req, res) => res.end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    const foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_FLAGS });
    try {
      const context = await browser.newContext();
      await context.addCookies([{ name: 'session', value: 'alice', url: server.url }]);
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      const own = await page.evaluate(
        (url) =>
          new Promise<string>((resolve, reject) => {
            const source = new EventSource(url);
            source.onmessage = (event) => {
              source.close();
              resolve(String(event.data));
            };
            source.onerror = () => reject(new Error('the same-origin stream failed'));
          }),
        `${server.url}/events`,
      );
      expect(own).toBe('alice');
      expect(asked).toBe(1);
      await page.goto(`${foreignUrl}/`);
      const attack = await page.evaluate(
        (url) =>
          new Promise<{ events: number; readyState: number }>((resolve) => {
            let events = 0;
            const source = new EventSource(url, { withCredentials: true });
            source.onmessage = () => {
              events += 1;
            };
            source.onerror = () =>
              setTimeout(() => resolve({ events, readyState: source.readyState }), 100);
          }),
        `${server.url}/events`,
      );
      expect(attack).toEqual({ events: 0, readyState: 2 });
      expect(asked).toBe(1); // refused by its Origin before authorize ran
    } finally {
      await browser.close();
      await new Promise((resolve) => foreign.close(resolve));
    }
  });

  itWhen(
    harness,
    'frameworkAuth',
    "with the framework's own auth: the route streams for the user it set (init.principal), and authorize is not asked",
    async () => {
      let asked = 0;
      const channel = createChannel();
      const server = await harness.startRoute(
        {
          heartbeat: 0,
          authorize: () => {
            asked += 1;
            return undefined;
          },
          source: channel.source(),
        },
        { frameworkAuth: true },
      );
      const streams: RawStream[] = [];
      try {
        const anonymous = await fetchRaw(`${server.url}/route`);
        expect(anonymous.status).toBe(401);
        const alice = await openStream(`${server.url}/route`, { headers: as('alice') });
        streams.push(alice);
        expect(alice.status).toBe(200);
        await waitUntilSubscribed(channel, 1);
        await channel.publish('dm', 'for bob', { topic: 'user:bob' });
        await channel.publish('dm', 'for alice', { topic: 'user:alice' });
        await alice.waitForEvents(1);
        expect(alice.events.map((e) => e.data)).toEqual(['for alice']);
        expect(asked).toBe(0);
      } finally {
        for (const stream of streams) stream.destroy();
        await server.close();
      }
    },
  );
}

/** Opens a stream as `user`, checks it streams for that user, and leaves. */
async function expectStreamFor(url: string, user: string): Promise<void> {
  const stream = await openStream(`${url}/events`, { headers: as(user) });
  try {
    expect(stream.status).toBe(200);
    expect((await stream.waitForEvents(1))[0]?.data).toBe(user);
  } finally {
    stream.destroy();
  }
}

/** Sends a request and drops its connection after `ms`, before any answer (or right after one). */
async function requestThenDrop(
  url: string,
  headers: Record<string, string>,
  ms: number,
): Promise<void> {
  const connection = await rawConnect(url);
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  connection.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}\r\n`);
  await sleep(ms);
  connection.destroy();
}

async function waitUntilSubscribed(
  channel: { stats(): { subscribers: number } },
  count: number,
): Promise<void> {
  const deadline = Date.now() + 3000;
  while (channel.stats().subscribers < count) {
    if (Date.now() > deadline) throw new Error(`${count} subscribers did not arrive`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
