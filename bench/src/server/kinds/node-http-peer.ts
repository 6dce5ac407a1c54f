import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenNode } from '../listen.js';
import { busy } from '../raw-node.js';

/** Peer: better-sse (sessions on node:http, a better-sse channel for broadcasts). */
export const start: StartKind = async (ctx) => {
  const { maxConnections, mode, pollIntervalMs } = ctx.config;
  const channel = createChannel();
  let open = 0;
  const server = createServer(async (req, res) => {
    if (req.url !== SSE_PATH) {
      res.writeHead(404).end();
      return;
    }
    // better-sse has no connection limit: counted by hand, as a user would.
    if (maxConnections > 0 && open >= maxConnections) {
      busy(res);
      return;
    }
    open += 1;
    res.once('close', () => {
      open -= 1;
    });
    const session = await createSession(req, res, { keepAlive: null });
    if (mode === 'broadcast') {
      channel.register(session);
      return;
    }
    let seq = 0;
    const timer = setInterval(() => {
      seq += 1;
      if (session.isConnected) session.push(ctx.pollData(seq));
    }, pollIntervalMs);
    session.once('disconnected', () => clearInterval(timer));
  });
  const port = await listenNode(server);
  return {
    port,
    broadcast: (data) => {
      channel.broadcast(data);
    },
    connections: () => (mode === 'broadcast' ? channel.sessionCount : open),
  };
};
