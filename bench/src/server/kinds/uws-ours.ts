import uWS from 'uWebSockets.js';
import { sse } from '@sse-middleware/uws';
import { SSE_PATH, type StartKind } from '../kind.js';
import { engineStats, ourSetup, publishTo } from '../ours.js';
import { listenUws } from '../uws-listen.js';

/** @sse-middleware/uws as the route handler. */
export const start: StartKind = async (ctx) => {
  const { channel, options } = ourSetup(ctx);
  const handler = sse(options);
  const app = uWS.App().get(SSE_PATH, handler);
  const port = await listenUws(app);
  return {
    port,
    broadcast: publishTo(channel),
    connections: () => handler.engine.connections.active,
    stats: () => engineStats(handler.engine.stats()),
  };
};
