import { describe, expect, it } from 'vitest';
import {
  clusterForTest,
  type FollowingClient,
  followingClient,
  publish,
  streamIds,
  until,
} from './helpers.js';

const TEST_TIMEOUT_MS = 90_000;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (client: FollowingClient) => client.events.map((e) => e.id);

describe('three example servers (node:http, Koa, uWebSockets.js) sharing one Redis', () => {
  it(
    'an event published on any node reaches every client of every node exactly once, in the same order',
    async () => {
      const cluster = await clusterForTest();
      expect(cluster.nodes.map((node) => node.server)).toEqual(['node-http', 'koa', 'uws']);
      const clients: FollowingClient[] = [];
      for (const node of cluster.nodes) {
        clients.push(await followingClient(node.url), await followingClient(node.url));
      }

      const acknowledged: string[] = [];
      for (let i = 0; i < 45; i += 1) {
        const node = cluster.nodes[i % 3]!;
        const result = await publish(node.url, `event ${i} via ${node.server}`);
        expect(result.status).toBe(202);
        acknowledged.push(result.id!);
      }

      await until(
        () => clients.every((client) => client.events.length >= 45),
        'every client to receive the 45 events',
      );
      await pause(200);
      expect(await streamIds(cluster.admin)).toEqual(acknowledged);
      for (const client of clients) {
        expect(ids(client)).toEqual(acknowledged);
        expect(client.events[4]!.data).toBe('event 4 via koa');
      }
      // Ctrl+C: each server ends its streams, closes its Redis connections and exits cleanly.
      for (const node of cluster.nodes) expect(await node.stop(), node.server).toBe(0);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'a node killed mid-stream: its clients reconnect to another node with Last-Event-ID and miss nothing, twice nothing',
    async () => {
      const cluster = await clusterForTest();
      const [a, b, c] = cluster.nodes as [
        (typeof cluster.nodes)[0],
        (typeof cluster.nodes)[0],
        (typeof cluster.nodes)[0],
      ];
      const survivors = [a.url, b.url];
      const onSurvivors = [
        await followingClient(a.url),
        await followingClient(b.url),
        await followingClient(b.url),
      ];
      const onVictim = [
        await followingClient(c.url, survivors),
        await followingClient(c.url, [b.url, a.url]),
        await followingClient(c.url, survivors),
      ];

      const acknowledged: string[] = [];
      for (let i = 0; i < 60; i += 1) {
        if (i === 25) await c.kill();
        const node = i < 25 ? cluster.nodes[i % 3]! : [a, b][i % 2]!;
        const result = await publish(node.url, `event ${i}`);
        expect(result, `publishing event ${i} via ${node.server}`).toMatchObject({ status: 202 });
        acknowledged.push(result.id!);
        await pause(10);
      }

      const everyone = [...onSurvivors, ...onVictim];
      await until(
        () => everyone.every((client) => client.events.length >= 60),
        'every client to receive the 60 events',
        20_000,
      );
      await pause(200);
      for (const client of everyone) {
        expect(client.failure).toBeUndefined();
        expect(ids(client)).toEqual(acknowledged);
      }
      for (const client of onVictim) {
        expect(client.connections).toHaveLength(2);
        expect(client.connections[0]).toBe(c.url);
        expect(survivors).toContain(client.connections[1]);
        expect(client.resumedFrom).toHaveLength(1);
        expect(acknowledged.indexOf(client.resumedFrom[0]!)).toBeGreaterThanOrEqual(20);
      }
      for (const client of onSurvivors) expect(client.connections).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'Redis restarted mid-stream: every event whose publish got a 202 reaches every client, once, in order',
    async () => {
      const cluster = await clusterForTest();
      const clients: FollowingClient[] = [];
      for (const node of cluster.nodes) {
        clients.push(await followingClient(node.url), await followingClient(node.url));
      }

      const acknowledged: string[] = [];
      const refused: string[] = [];
      let attempt = 0;
      /** Publishes round robin until `count` more have been acknowledged (at most 500 tries). */
      const publishUntil = async (count: number) => {
        const target = acknowledged.length + count;
        for (let tries = 0; acknowledged.length < target && tries < 500; tries += 1) {
          attempt += 1;
          const node = cluster.nodes[attempt % 3]!;
          const result = await publish(node.url, `attempt ${attempt}`);
          if (result.status === 202) acknowledged.push(result.id!);
          else refused.push(`${result.status} ${result.error}`);
          await pause(10);
        }
        expect(acknowledged.length).toBe(target);
      };

      await publishUntil(20);
      await cluster.redis.kill();
      // While Redis is down, publishing fails at once, saying why.
      for (const node of cluster.nodes) {
        const result = await publish(node.url, 'during the outage');
        expect(result.status).toBe(503);
        expect(result.error).toMatch(
          /^cannot publish to "sse-middleware:example:events": (Redis is unreachable|the connection to Redis failed)/,
        );
      }
      await pause(500);
      await cluster.redis.restart();
      await publishUntil(20);

      const stream = await streamIds(cluster.admin);
      // Acknowledged means stored: each one is in the stream, in the order acknowledged.
      expect(stream.filter((id) => acknowledged.includes(id))).toEqual(acknowledged);
      await until(
        () => clients.every((client) => client.events.length >= stream.length),
        `every client to receive the ${stream.length} events of the stream`,
        20_000,
      );
      await pause(200);
      for (const client of clients) {
        expect(client.failure).toBeUndefined();
        // Connected clients kept their streams through the outage…
        expect(client.connections).toHaveLength(1);
        // …and got every event, acknowledged or not, once, in stream order.
        expect(ids(client)).toEqual(stream);
      }
      expect(refused.every((reason) => reason.startsWith('503 '))).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );
});
