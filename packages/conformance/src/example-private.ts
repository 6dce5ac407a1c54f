import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { EventSourceMessage } from 'eventsource-parser';
import { type JWTPayload, SignJWT } from 'jose';
import { EventSource } from 'undici';
import { expect, it, onTestFinished } from 'vitest';
import type { ConformanceServer } from './harness.js';
import {
  afterHeadComment,
  fetchRaw,
  openStream,
  postBody,
  type RawStream,
  sleep,
} from './http-client.js';

/** The secret the examples verify tokens with when `EXAMPLE_JWT_SECRET` is not set. */
const SECRET = new TextEncoder().encode('dev-secret');
const REALM = 'sse-middleware-example';
const NO_TOKEN_CHALLENGE = `Bearer realm="${REALM}"`;
const INVALID_TOKEN_CHALLENGE = `Bearer realm="${REALM}", error="invalid_token"`;
const SSE_CONTENT_TYPE = /^text\/event-stream/;

interface TokenOptions {
  /** Seconds from now; negative for a token that has expired. Default 300. */
  expiresIn?: number;
  secret?: Uint8Array;
  alg?: 'HS256' | 'HS384' | 'HS512';
}

/** A token for `sub`, signed as the examples expect (HS256 with `dev-secret`) unless told otherwise. */
function token(sub: string | undefined, claims: JWTPayload = {}, options: TokenOptions = {}) {
  const { expiresIn = 300, secret = SECRET, alg = 'HS256' } = options;
  // A `jti` of its own, so that no two tokens are the same string (each has its own rate limit).
  const jwt = new SignJWT({ jti: randomUUID(), ...claims })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  if (Number.isFinite(expiresIn)) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn);
  return jwt.sign(secret);
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`), made by hand as an attacker would. */
const unsignedToken = (sub: string) =>
  `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({
    sub,
    exp: Math.floor(Date.now() / 1000) + 300,
  })}.`;

const bearer = (jwt: string) => ({ Authorization: `Bearer ${jwt}` });

/** `POST /private/publish` as `from`. */
async function publish(
  url: string,
  from: string,
  message: { to: string; event?: string; data: unknown },
): Promise<string> {
  const answer = await postBody(`${url}/private/publish`, JSON.stringify(message), bearer(from));
  expect(answer.status, answer.text).toBe(202);
  return (answer.body as { id: string }).id;
}

/** Opens `GET /private/events` with `headers` (or `?query`), closed when the test ends. */
async function openPrivate(
  url: string,
  headers: Record<string, string>,
  query = '',
): Promise<RawStream> {
  const stream = await openStream(`${url}/private/events${query}`, { headers });
  onTestFinished(() => stream.destroy());
  return stream;
}

/** Opens a user's stream and waits until it is live (its `retry:` hint has come). */
async function follow(url: string, headers: Record<string, string>, query = '') {
  const stream = await openPrivate(url, headers, query);
  expect(stream.status, stream.text).toBe(200);
  expect(stream.headers['content-type']).toMatch(SSE_CONTENT_TYPE);
  await stream.waitForText((text) => afterHeadComment(text).startsWith('retry: 2000\n'), 3000);
  return stream;
}

/** Asserts a 401 with a JSON `{ error }` and the challenge. */
function expectUnauthorized(
  answer: { status: number; headers: IncomingHttpHeaders; body: unknown },
  challenge: string,
  what: string,
) {
  expect(answer.status, what).toBe(401);
  expect(answer.headers['www-authenticate'], what).toBe(challenge);
  expect(answer.headers['content-type'], what).toMatch(/^application\/json/);
  const body = typeof answer.body === 'string' ? JSON.parse(answer.body) : answer.body;
  expect(body, what).toEqual({ error: expect.any(String) });
}

interface PrivateMetrics {
  private: { open: number };
  privateChannel: { subscribers: number };
}

async function privateMetrics(url: string): Promise<PrivateMetrics> {
  return JSON.parse((await fetchRaw(`${url}/app/metrics`)).body).sse as PrivateMetrics;
}

/**
 * The server still serves, and once the test's clients are gone, no private stream or channel
 * subscription is left: nothing leaked a slot.
 */
async function expectSettled(url: string, streams: readonly RawStream[] = []) {
  for (const stream of streams) stream.destroy();
  expect((await fetchRaw(`${url}/`)).status).toBe(200);
  const deadline = Date.now() + 3000;
  let metrics = await privateMetrics(url);
  while (metrics.private.open !== 0 || metrics.privateChannel.subscribers !== 0) {
    if (Date.now() > deadline) break;
    await sleep(20);
    metrics = await privateMetrics(url);
  }
  expect(metrics.private.open, 'private streams still open').toBe(0);
  expect(metrics.privateChannel.subscribers, 'private channel subscribers left').toBe(0);
}

/** Resolves with the stream's events once `count` have come, and checks no more follow for a while. */
async function exactly(stream: RawStream, count: number): Promise<EventSourceMessage[]> {
  if (count > 0) await stream.waitForEvents(count, 3000);
  await sleep(100);
  expect(stream.events.length, JSON.stringify(stream.events)).toBe(count);
  return [...stream.events];
}

/**
 * The contract of the private routes every example serves: `GET /private/events`, a user's own
 * stream (an HS256 JWT as Bearer, a `session` cookie, or a ticket), and `POST /private/ticket`,
 * `/private/publish`, `/private/kick`. Tokens are signed with the examples' default secret.
 */
export function privateStreamContractTests(serve: () => Promise<ConformanceServer>): void {
  it('answers no credentials with 401, a Bearer challenge without an error, and a JSON error, on every private route', async () => {
    const { url } = await serve();
    const stream = await fetchRaw(`${url}/private/events`);
    expectUnauthorized(stream, NO_TOKEN_CHALLENGE, 'GET /private/events');
    for (const path of ['/private/ticket', '/private/publish', '/private/kick']) {
      const answer = await postBody(`${url}${path}`, '{"to":"bob","sub":"bob","data":1}');
      expectUnauthorized(answer, NO_TOKEN_CHALLENGE, `POST ${path}`);
    }
    // A cookie of another name is no credential either.
    const other = await fetchRaw(`${url}/private/events`, { headers: { Cookie: 'theme=dark' } });
    expectUnauthorized(other, NO_TOKEN_CHALLENGE, 'another cookie');
    await expectSettled(url);
  });

  it('refuses a bad signature, alg none, an expired token, HS512 and malformed or incomplete tokens with 401 invalid_token', async () => {
    const { url } = await serve();
    const refused: Record<string, string> = {
      'a bad signature': await token('mallory', {}, { secret: new TextEncoder().encode('guess') }),
      'alg none': unsignedToken('alice'),
      'an expired token': await token('alice', {}, { expiresIn: -10 }),
      'HS512 with the same secret': await token('alice', {}, { alg: 'HS512' }),
      'no sub': await token(undefined),
      'no exp': await token('alice', {}, { expiresIn: Number.POSITIVE_INFINITY }),
      'topics that are not strings': await token('alice', { topics: [1, 2] }),
      'not a JWT': 'not-a-jwt',
    };
    // A payload of the attacker's choosing, with the header and signature of a real token.
    const [head, , signature] = (await token('eve')).split('.');
    refused['a forged payload'] =
      `${head}.${base64url({ sub: 'root', role: 'admin', exp: 2e9 })}.${signature}`;
    for (const [what, jwt] of Object.entries(refused)) {
      const stream = await fetchRaw(`${url}/private/events`, { headers: bearer(jwt) });
      expectUnauthorized(stream, INVALID_TOKEN_CHALLENGE, `GET /private/events with ${what}`);
      const cookie = await fetchRaw(`${url}/private/events`, {
        headers: { Cookie: `session=${jwt}` },
      });
      expectUnauthorized(cookie, INVALID_TOKEN_CHALLENGE, `a session cookie with ${what}`);
      const ticket = await postBody(`${url}/private/ticket`, '', bearer(jwt));
      expectUnauthorized(ticket, INVALID_TOKEN_CHALLENGE, `POST /private/ticket with ${what}`);
    }
    const basic = await fetchRaw(`${url}/private/events`, {
      headers: { Authorization: 'Basic YWxpY2U6cHc=' },
    });
    expectUnauthorized(basic, INVALID_TOKEN_CHALLENGE, 'Basic credentials');
    await expectSettled(url);
  });

  it('streams to a valid Bearer token and to a valid session cookie, with a retry hint', async () => {
    const { url } = await serve();
    const alice = await token('alice');
    const byHeader = await follow(url, bearer(alice));
    const byCookie = await follow(url, { Cookie: `theme=dark; session=${alice}` });
    const id = await publish(url, await token('bob'), {
      to: 'alice',
      event: 'dm',
      data: { text: 'hi' },
    });
    for (const stream of [byHeader, byCookie]) {
      const [event] = await stream.waitForEvents(1, 3000);
      expect([event?.id, event?.event, event?.data]).toEqual([id, 'dm', '{"text":"hi"}']);
    }
    await expectSettled(url, [byHeader, byCookie]);
  });

  it("a user gets what is published to them, and never another user's events, live or by replay from any Last-Event-ID", async () => {
    const { url } = await serve();
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((s) => token(s)));
    const aliceLive = await follow(url, bearer(alice!));
    const bobLive = await follow(url, bearer(bob!));
    const bobIds = [
      await publish(url, carol!, { to: 'bob', event: 'dm', data: 'for bob 1' }),
      await publish(url, carol!, { to: 'bob', data: 'for bob 2' }),
    ];
    const aliceId = await publish(url, carol!, { to: 'alice', event: 'dm', data: 'for alice' });
    bobIds.push(await publish(url, alice!, { to: 'bob', event: 'dm', data: 'for bob 3' }));
    expect((await exactly(aliceLive, 1)).map((e) => [e.id, e.data])).toEqual([
      [aliceId, 'for alice'],
    ]);
    expect((await exactly(bobLive, 3)).map((e) => e.id)).toEqual(bobIds);

    // Alice reconnects with each of bob's ids, with ids of no event and with garbage: she gets
    // her own event when it comes after, and never one of bob's.
    const aliceIds = [aliceId];
    const lastIds = [...bobIds, `${bobIds[0]!.split('.')[0]}.0`, 'zz.1', '999999', 'x'];
    for (const lastEventId of lastIds) {
      const headers = { ...bearer(await token('alice')), 'Last-Event-ID': lastEventId };
      const resumed = await openPrivate(url, headers);
      expect(resumed.status).toBe(200);
      const marker = await publish(url, carol!, { to: 'alice', event: 'marker', data: 'mark' });
      aliceIds.push(marker);
      await resumed.waitForText((text) => text.includes(`id: ${marker}\n`), 3000);
      // None of bob's events: no event with one of his ids, none of his data. (A `replay-gap`'s
      // `oldestRetainedId` is the channel's oldest id, whoever it was for: an id, not an event.)
      const delivered = resumed.events.filter((e) => e.event !== 'replay-gap');
      expect(
        delivered.filter((e) => bobIds.includes(e.id ?? '')),
        `Last-Event-ID ${lastEventId}`,
      ).toEqual([]);
      expect(resumed.text).not.toContain('for bob');
      expect(delivered.filter((e) => !aliceIds.includes(e.id ?? ''))).toEqual([]);
      resumed.destroy();
    }
    await expectSettled(url, [aliceLive, bobLive]);
  });

  it('answers a foreign Origin with 403 on the stream and the POST routes; the same origin and no Origin pass', async () => {
    const { url } = await serve();
    const alice = await token('alice');
    const foreign = await fetchRaw(`${url}/private/events`, {
      headers: { ...bearer(alice), Origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    for (const path of ['/private/ticket', '/private/publish', '/private/kick']) {
      const answer = await postBody(`${url}${path}`, '{"to":"alice","data":1}', {
        ...bearer(alice),
        Origin: 'https://evil.example',
      });
      expect(answer.status, `POST ${path}`).toBe(403);
      expect(answer.body, `POST ${path}`).toEqual({ error: expect.any(String) });
    }
    const same = await follow(url, { ...bearer(alice), Origin: new URL(url).origin });
    const ticket = await postBody(`${url}/private/ticket`, '', {
      ...bearer(alice),
      Origin: new URL(url).origin,
    });
    expect(ticket.status).toBe(201);
    await expectSettled(url, [same]);
  });

  it('POST /private/ticket issues a single-use ticket: it opens one stream, a second use is a 401, and a ticket buys no ticket', async () => {
    const { url } = await serve();
    const alice = await token('alice');
    const issued = await postBody(`${url}/private/ticket`, '', bearer(alice));
    expect(issued.status).toBe(201);
    const {
      ticket,
      expiresAt,
      url: path,
    } = issued.body as {
      ticket: string;
      expiresAt: number;
      url: string;
    };
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(path).toBe(`/private/events?ticket=${ticket}`);
    expect(expiresAt - Date.now()).toBeGreaterThan(20_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
    const byCookie = await postBody(`${url}/private/ticket`, '', { Cookie: `session=${alice}` });
    expect(byCookie.status).toBe(201);

    const first = await follow(url, {}, `?ticket=${ticket}`);
    const again = await fetchRaw(`${url}${path}`);
    expectUnauthorized(again, INVALID_TOKEN_CHALLENGE, 'a ticket used twice');
    const unknown = await fetchRaw(`${url}/private/events?ticket=${'A'.repeat(43)}`);
    expectUnauthorized(unknown, INVALID_TOKEN_CHALLENGE, 'an unknown ticket');
    // The stream of the ticket is alice's.
    const id = await publish(url, alice, { to: 'alice', data: 'by ticket' });
    const [event] = await first.waitForEvents(1, 3000);
    expect([event?.id, event?.data]).toEqual([id, 'by ticket']);
    // A ticket is for one stream, not a credential for the POST routes.
    const { ticket: second } = (await postBody(`${url}/private/ticket`, '', bearer(alice)))
      .body as {
      ticket: string;
    };
    const viaTicket = await postBody(`${url}/private/ticket?ticket=${second}`, '');
    expectUnauthorized(viaTicket, NO_TOKEN_CHALLENGE, 'POST /private/ticket with a ticket');
    await expectSettled(url, [first]);
  });

  it("undici's EventSource follows a ticket stream, and a ticket reconnect with ?lastEventId= replays what it missed", async () => {
    const { url } = await serve();
    const alice = await token('alice');
    const bob = await token('bob');
    const ticketUrl = async () =>
      `${url}${((await postBody(`${url}/private/ticket`, '', bearer(alice))).body as { url: string }).url}`;
    const source = new EventSource(await ticketUrl());
    onTestFinished(() => source.close());
    const received: MessageEvent[] = [];
    source.addEventListener('dm', (event) => received.push(event as MessageEvent));
    await new Promise<void>((resolve, reject) => {
      source.onopen = () => resolve();
      source.onerror = () => reject(new Error('the ticket EventSource failed to open'));
    });
    const firstId = await publish(url, bob, { to: 'alice', event: 'dm', data: { n: 1 } });
    await publish(url, bob, { to: 'bob', event: 'dm', data: { n: 'not for alice' } });
    const deadline = Date.now() + 3000;
    while (received.length < 1 && Date.now() < deadline) await sleep(10);
    expect(received.map((e) => [e.lastEventId, JSON.parse(e.data)])).toEqual([[firstId, { n: 1 }]]);
    source.close();

    const secondId = await publish(url, bob, { to: 'alice', event: 'dm', data: { n: 2 } });
    const resumed = new EventSource(`${await ticketUrl()}&lastEventId=${firstId}`);
    onTestFinished(() => resumed.close());
    const replayed = await new Promise<MessageEvent>((resolve, reject) => {
      resumed.addEventListener('dm', (event) => resolve(event as MessageEvent));
      resumed.onerror = () => reject(new Error('the resumed ticket EventSource failed'));
    });
    expect([replayed.lastEventId, JSON.parse(replayed.data)]).toEqual([secondId, { n: 2 }]);
    resumed.close();
    await expectSettled(url);
  });

  it('answers a reconnect storm with one token past its capacity with 429 and Retry-After; another user still gets in', async () => {
    const { url } = await serve();
    const storm = await token('stormy');
    const statuses: number[] = [];
    let refused: RawStream | undefined;
    for (let i = 0; i < 14 && !refused; i += 1) {
      const attempt = await openPrivate(url, bearer(storm));
      statuses.push(attempt.status);
      if (attempt.status === 429) refused = attempt;
      attempt.destroy();
    }
    // Capacity 10, refilled at 1/s: the 11th comes at once, or the 12th after a refill.
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(refused?.status, `statuses ${statuses.join(',')}`).toBe(429);
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const calm = await follow(url, bearer(await token('calm')));
    await expectSettled(url, [calm]);
  });

  it('ends a stream with event: reauth {"reason":"expired"} when its token expires; the token is then a 401', async () => {
    const { url } = await serve();
    const shortLived = await token('brief', {}, { expiresIn: 2 });
    const stream = await follow(url, bearer(shortLived));
    await stream.waitForEvents(1, 4000);
    expect(stream.events.map((e) => [e.event, e.data])).toEqual([
      ['reauth', '{"reason":"expired"}'],
    ]);
    await stream.ended;
    const again = await fetchRaw(`${url}/private/events`, { headers: bearer(shortLived) });
    expectUnauthorized(again, INVALID_TOKEN_CHALLENGE, 'the expired token');
    await expectSettled(url);
  });

  it("POST /private/kick: 401 without credentials, 403 for a non-admin; an admin's kick ends the user's streams with reauth revoked and refuses them, other users stay", async () => {
    const { url } = await serve();
    const admin = await token('root', { role: 'admin' });
    const bob = await token('bob');
    const carol = await token('carol');
    const bobStreams = [
      await follow(url, bearer(bob)),
      await follow(url, { Cookie: `session=${bob}` }),
    ];
    const carolStream = await follow(url, bearer(carol));

    const anonymous = await postBody(`${url}/private/kick`, '{"sub":"bob"}');
    expectUnauthorized(anonymous, NO_TOKEN_CHALLENGE, 'a kick without credentials');
    const byUser = await postBody(`${url}/private/kick`, '{"sub":"bob"}', bearer(carol));
    expect(byUser.status).toBe(403);
    expect(byUser.body).toEqual({ error: expect.any(String) });
    const badBody = await postBody(`${url}/private/kick`, '{"user":"bob"}', bearer(admin));
    expect(badBody.status).toBe(400);
    await sleep(50);
    expect(bobStreams.every((stream) => !stream.isEnded && stream.events.length === 0)).toBe(true);

    const kicked = await postBody(`${url}/private/kick`, '{"sub":"bob"}', bearer(admin));
    expect(kicked.status).toBe(202);
    expect(kicked.body).toEqual({ sub: 'bob' });
    for (const stream of bobStreams) {
      await stream.ended;
      expect(stream.events.map((e) => [e.event, e.data])).toEqual([
        ['reauth', '{"reason":"revoked"}'],
      ]);
    }
    // Bob's auto-reconnecting EventSource, or bob himself, gets a 401 for a while.
    const back = await fetchRaw(`${url}/private/events`, { headers: bearer(bob) });
    expectUnauthorized(back, INVALID_TOKEN_CHALLENGE, "the kicked user's stream");
    const ticket = await postBody(`${url}/private/ticket`, '', bearer(bob));
    expectUnauthorized(ticket, INVALID_TOKEN_CHALLENGE, "the kicked user's ticket");
    // Carol's stream is untouched.
    const id = await publish(url, admin, { to: 'carol', data: 'still here' });
    const [event] = await carolStream.waitForEvents(1, 3000);
    expect([event?.id, event?.data]).toEqual([id, 'still here']);
    expect(carolStream.isEnded).toBe(false);
    await expectSettled(url, [carolStream]);
  });

  it('POST /private/publish refuses reserved event names and bad bodies with 400 and a body past 64 KiB with 413, publishing none', async () => {
    const { url } = await serve();
    const alice = await token('alice');
    const bob = await token('bob');
    const bobStream = await follow(url, bearer(bob));
    const bad: Record<string, string> = {
      'event reauth': JSON.stringify({ to: 'bob', event: 'reauth', data: { reason: 'expired' } }),
      'event error': JSON.stringify({ to: 'bob', event: 'error', data: 'x' }),
      'event shutdown': JSON.stringify({ to: 'bob', event: 'shutdown', data: 'x' }),
      'event replay-gap': JSON.stringify({ to: 'bob', event: 'replay-gap', data: 'x' }),
      'a newline in the event': JSON.stringify({ to: 'bob', event: 'dm\nevent: reauth', data: 1 }),
      'an event that is no string': JSON.stringify({ to: 'bob', event: 7, data: 1 }),
      'no data': JSON.stringify({ to: 'bob' }),
      'no to': JSON.stringify({ data: 1 }),
      'an empty to': JSON.stringify({ to: '', data: 1 }),
      'an array': JSON.stringify([{ to: 'bob', data: 1 }]),
      'malformed JSON': '{"to": "bob", ',
    };
    for (const [what, body] of Object.entries(bad)) {
      const answer = await postBody(`${url}/private/publish`, body, bearer(alice));
      expect(answer.status, `${what}: ${answer.text}`).toBe(400);
      expect(answer.body, what).toEqual({ error: expect.any(String) });
    }
    const huge = JSON.stringify({ to: 'bob', data: 'x'.repeat(70 * 1024) });
    const tooLarge = await postBody(`${url}/private/publish`, huge, bearer(alice));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toEqual({ error: expect.any(String) });
    const id = await publish(url, alice, { to: 'bob', data: 'after the refusals' });
    expect((await exactly(bobStream, 1)).map((e) => [e.id, e.event ?? 'message', e.data])).toEqual([
      [id, 'message', 'after the refusals'],
    ]);
    await expectSettled(url, [bobStream]);
  });
}
