import uWS from 'uWebSockets.js';
import { SSE_PATH, type StartKind } from '../kind.js';
import { listenUws } from '../uws-listen.js';

/** Baseline: corked writes on uWS, by hand. */
export const start: StartKind = async (ctx) => {
  const { maxConnections, mode, pollIntervalMs } = ctx.config;
  const clients = new Set<uWS.HttpResponse>();
  const app = uWS.App().get(SSE_PATH, (res) => {
    if (maxConnections > 0 && clients.size >= maxConnections) {
      res.writeStatus('503 Service Unavailable').writeHeader('Retry-After', '5').end('busy');
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    res.onAborted(() => {
      clearInterval(timer);
      clients.delete(res);
    });
    res.onWritable(() => true);
    // uWS sends the head with the first body bytes: a comment puts it on the wire now.
    res
      .writeStatus('200 OK')
      .writeHeader('Content-Type', 'text/event-stream')
      .writeHeader('Cache-Control', 'no-cache')
      .write(':\n\n');
    clients.add(res);
    if (mode === 'poll') {
      let seq = 0;
      timer = setInterval(() => {
        seq += 1;
        const frame = `data: ${ctx.pollData(seq)}\n\n`;
        res.cork(() => res.write(frame));
      }, pollIntervalMs);
    }
  });
  const port = await listenUws(app);
  return {
    port,
    broadcast: (data) => {
      const frame = `data: ${data}\n\n`;
      for (const res of clients) res.cork(() => res.write(frame));
    },
    connections: () => clients.size,
  };
};
