import { createServer } from 'node:http';
import type { KindContext, KindServer, StartKind } from '../kind.js';
import { SSE_PATH } from '../kind.js';
import { listenNode } from '../listen.js';
import { RawNodeStreams } from '../raw-node.js';

/** A plain node:http server of hand-written streams, broadcasting with `broadcast`. */
export async function startRawNode(
  ctx: KindContext,
  broadcast: (streams: RawNodeStreams, data: string) => void,
): Promise<KindServer> {
  const streams = new RawNodeStreams(ctx);
  const server = createServer((req, res) => {
    if (req.url === SSE_PATH) streams.open(res);
    else res.writeHead(404).end();
  });
  const port = await listenNode(server);
  return {
    port,
    broadcast: (data) => broadcast(streams, data),
    connections: () => streams.clients.size,
  };
}

/** Baseline: raw res.write on node:http. */
export const start: StartKind = (ctx) =>
  startRawNode(ctx, (streams, data) => streams.broadcast(data));
