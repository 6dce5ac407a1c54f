import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createChannel } from '@sse-middleware/core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startRedisServer } from '../../../scripts/redis-server.mjs';
import { createRedisStore } from '../src/index.js';
import {
  adminClient,
  appendMany,
  encodeMessage,
  entryIdOf,
  storeConnections,
  storeFor,
  tailListening,
  uniqueKey,
  until,
  useRedisServer,
} from './helpers.js';

const redis = useRedisServer();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fixture = fileURLToPath(new URL('./fixtures/close-on-signal.ts', import.meta.url));

/**
 * Runs the fixture (a channel on a store, a publish, a replay), runs `meanwhile` once it is ready,
 * has it close everything, and resolves with the sockets and timers it still had just after
 * closing; checks that it then exits on its own, as nothing is left to keep it alive.
 */
async function leftAfterClose(url: string, key: string, meanwhile = async () => {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, key], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await until(() => output.includes('ready\n'), 'the fixture to be ready', 30_000);
  await meanwhile();
  child.kill('SIGUSR2');
  await until(() => /closed .*\n/.test(output), 'the fixture to close', 30_000);
  const left = JSON.parse(/closed (.*)\n/.exec(output)![1]!) as string[];
  const code = await Promise.race([exited, sleep(10_000).then(() => 'still running')]);
  expect(code, 'the process exits on its own once closed').toBe(0);
  return left;
}

describe('closing', () => {
  it('channel.close() stops the tail: its connection closes and nothing more is fanned out', async () => {
    const key = uniqueKey();
    const store = storeFor({ url: redis.current.url, key });
    const channel = createChannel({ store });
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    expect((await storeConnections(admin, key)).sort()).toEqual([
      `sse-store:${key}`,
      `sse-tail:${key}`,
    ]);
    channel.close();
    await until(async () => (await storeConnections(admin, key)).length === 1, 'the tail to close');
    expect(await storeConnections(admin, key)).toEqual([`sse-store:${key}`]);
    // Publishing still works: it is the store's other connection.
    const { id } = await channel.publish('message', 'after close');
    expect(await admin.xrange(key, entryIdOf(id), entryIdOf(id))).toHaveLength(1);
  });

  it('store.close() closes every connection and leaves no socket or timer behind', async () => {
    const key = uniqueKey();
    const admin = adminClient(redis.current.url);
    const left = await leftAfterClose(redis.current.url, key, async () => {
      await tailListening(admin, key);
    });
    expect(left).toEqual([]);
    expect(await storeConnections(admin, key)).toEqual([]);
  });

  it('store.close() alone stops the tail too, is idempotent, and refuses later calls', async () => {
    const key = uniqueKey();
    const store = createRedisStore({ url: redis.current.url, key });
    store.tail(() => {}, encodeMessage);
    const admin = adminClient(redis.current.url);
    await tailListening(admin, key);
    const closing = store.close();
    expect(store.close()).toBe(closing);
    await closing;
    expect(await storeConnections(admin, key)).toEqual([]);
    await expect(appendMany(store, 1)).rejects.toThrow(
      `cannot publish to "${key}": the Redis store is closed`,
    );
    await expect(store.since('1-0')).rejects.toThrow(
      `cannot replay "${key}": the Redis store is closed`,
    );
    expect(() => store.tail(() => {}, encodeMessage)).toThrow(
      `cannot tail "${key}": the Redis store is closed`,
    );
  });

  it('closing while Redis is down leaves no socket or timer behind either', async () => {
    const own = await startRedisServer();
    onTestFinished(() => own.stop());
    const left = await leftAfterClose(own.url, uniqueKey(), async () => {
      await own.kill();
      // Long enough for both connections to be between reconnection attempts.
      await sleep(300);
    });
    expect(left).toEqual([]);
  });
});
