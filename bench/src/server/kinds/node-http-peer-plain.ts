import { createServer } from 'node:http';
import { createChannel, createSession } from 'better-sse';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenNode } from '../listen.js';

/**
 * better-sse 0.16.1 with its per-session work taken out: data written as given (no
 * `JSON.stringify`), no sanitizer regexes, and one event id for all (`broadcast` already shares
 * it). What is left is its event buffer and one `res.write` of a string per session.
 */
export const start: StartKind = async () => {
  const channel = createChannel();
  const server = createServer(async (req, res) => {
    if (req.url !== SSE_PATH) {
      res.writeHead(404).end();
      return;
    }
    const session = await createSession(req, res, {
      keepAlive: null,
      serializer: (data) => String(data),
      sanitizer: (text) => text,
    });
    channel.register(session);
  });
  const port = await listenNode(server);
  return {
    port,
    broadcast: (data) => {
      channel.broadcast(data);
    },
    connections: () => channel.sessionCount,
  };
};
