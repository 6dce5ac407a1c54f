import type { StartKind } from '../kind.js';
import { startRawNode } from './node-http-raw.js';

/** The floor under node:http: the raw server, each event written to the sockets pre-framed. */
export const start: StartKind = (ctx) =>
  startRawNode(ctx, (streams, data) => streams.broadcastToSockets(data));
