import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect, it, onTestFinished } from 'vitest';
import { openStream, until } from './helpers.js';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** Whether something accepts TCP connections at `url` (http:// or redis://). */
function accepts(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

it('starts Redis, three nodes, a balancer and a publisher in one command, and stops them all on Ctrl+C', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PUBLISH_INTERVAL_MS: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  await until(() => /cluster listening on /.test(output), 'the cluster to start', 60_000);
  const balancer = /cluster listening on (http:\/\/[\d.]+:\d+)/.exec(output)![1]!;
  const redis = /^Redis (redis:\/\/[\d.]+:\d+)/m.exec(output)![1]!;
  const nodes = [...output.matchAll(/^ {2}(node-http|koa|uws) +(http:\/\/[\d.]+:\d+)$/gm)].map(
    (match) => match[2]!,
  );
  expect(nodes).toHaveLength(3);
  expect(output).toContain(`curl -N ${balancer}/events`);
  expect(output).toContain(`curl -d 'hello' ${nodes[1]}/publish`);

  // Through the balancer, twice: two connections, two nodes, the same events with the same ids.
  const first = await openStream(`${balancer}/events`);
  const second = await openStream(`${balancer}/events`);
  onTestFinished(() => {
    first.destroy();
    second.destroy();
  });
  await first.waitForEvents(3, 20_000);
  await second.waitForEvents(3, 20_000);
  const shared = second.events.find((event) => first.events.some((e) => e.id === event.id));
  expect(shared?.data).toMatch(/^message #\d+ via (node-http|koa|uws)$/);
  expect(output).toMatch(/published #\d+ via (node-http|koa|uws): id [0-9a-z]{8}\.\d+-\d+/);

  child.kill('SIGINT');
  expect(await exited).toBe(0);
  for (const url of [redis, balancer, ...nodes]) expect(await accepts(url), url).toBe(false);
}, 90_000);
