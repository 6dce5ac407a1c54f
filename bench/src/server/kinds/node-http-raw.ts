import { createServer } from 'node:http';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { RawNodeStreams } from '../raw-node.js';

/** Baseline: raw res.write on node:http. */
export const start: StartKind = async (ctx) => {
  const streams = new RawNodeStreams(ctx);
  const server = createServer((req, res) => {
    if (req.url === SSE_PATH) streams.open(res);
    else res.writeHead(404).end();
  });
  const port = await listenNode(server);
  return {
    port,
    broadcast: (data) => streams.broadcast(data),
    connections: () => streams.clients.size,
  };
};
