/**
 * `pnpm bench --socket-floor`: what one socket write costs per delivery on node:http, against the
 * raw `res.write` loop of the report. N SSE responses on one server; each round sends one event
 * per event-loop turn to all of them, either through `res.write(string)` (the raw baseline) or as
 * a pre-framed chunk straight to each socket (`socket.write(bytes)`, what our direct path ends in,
 * without the engine). Rounds alternate, in one process: the ratio is the lowest CPU per delivery
 * any server can reach with one write per stream per event, relative to the raw loop.
 */
import { fork } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { median } from './measure.js';
import { chunkOf } from './server/raw-node.js';

const CLIENT = '--socket-floor-client';

/** The load generator: N GET streams, read and discarded. */
function runClient(port: number, n: number): void {
  let started = 0;
  const head = `GET /sse HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`;
  for (let i = 0; i < n; i += 1) {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    socket.once('data', () => {
      started += 1;
      if (started === n) process.send?.('ready');
    });
    socket.on('data', () => {});
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** µs of CPU per delivery of `events` turns of `send`, over `n` streams. */
async function cpuPerDelivery(send: () => void, events: number, n: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < events; i += 1) {
    send();
    await turn();
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / (events * n);
}

async function measure(n: number, rounds: number, events: number) {
  const responses: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    responses.push(res);
  });
  await new Promise<void>((resolve) =>
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, resolve),
  );
  const { port } = server.address() as AddressInfo;
  const client = fork(fileURLToPath(import.meta.url), [CLIENT, String(port), String(n)]);
  await new Promise((resolve) => client.once('message', resolve));
  const data = `data: ${'x'.repeat(64)}\n\n`;
  const framed = chunkOf(data);
  const raw = () => {
    for (const res of responses) res.write(data);
  };
  const floor = () => {
    for (const res of responses) (res.socket as Socket).write(framed);
  };
  await cpuPerDelivery(raw, events, n);
  await cpuPerDelivery(floor, events, n);
  const rawUs: number[] = [];
  const floorUs: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    rawUs.push(await cpuPerDelivery(raw, events, n));
    floorUs.push(await cpuPerDelivery(floor, events, n));
  }
  client.kill();
  for (const res of responses) res.destroy();
  server.close();
  return { raw: median(rawUs), floor: median(floorUs) };
}

export async function socketFloorBench(quick: boolean, log: (line: string) => void) {
  const rounds = quick ? 2 : 9;
  /** 200,000 deliveries a round: 200 events to 1,000 streams, 20 to 10,000. */
  const eventsFor = (n: number) => (quick ? 20 : Math.max(20, Math.round(200_000 / n)));
  const rows = [
    '| N | raw res.write µs / delivery | socket.write of a pre-framed chunk | floor / raw |',
    '|---|---|---|---|',
  ];
  for (const n of quick ? [200] : [1000, 10_000]) {
    const { raw, floor } = await measure(n, rounds, eventsFor(n));
    log(
      `socket-floor ${n}: raw ${raw.toFixed(2)} µs, socket.write ${floor.toFixed(2)} µs per delivery`,
    );
    rows.push(`| ${n} | ${raw.toFixed(2)} | ${floor.toFixed(2)} | ${(floor / raw).toFixed(2)}x |`);
  }
  console.log(
    `\nOne write per stream per event on node:http (median of ${rounds} alternating rounds, 64 B):\n\n${rows.join('\n')}\n`,
  );
}

if (process.argv[2] === CLIENT) runClient(Number(process.argv[3]), Number(process.argv[4]));
