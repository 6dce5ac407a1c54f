/**
 * Run by uws.test.ts in a child process with UWS_USE_FALLBACK=1, so that uWebSockets.js loads its
 * JavaScript imitation. Prints one JSON line of findings, then serves one request with `sse()`,
 * which must crash the process with the refusal.
 */

import uWS from 'uWebSockets.js';
import { request } from 'node:http';
import { assertNativeUws, isNativeUws, sse } from '../src/index.js';

function refusal(): string | undefined {
  try {
    assertNativeUws(uWS);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const forced = refusal();
const fallbackFlag = process.env.UWS_USE_FALLBACK;
delete process.env.UWS_USE_FALLBACK;
const missingBinary = refusal();
process.env.UWS_USE_FALLBACK = fallbackFlag;
console.log(JSON.stringify({ native: isNativeUws(uWS), forced, missingBinary }));

const app = uWS.App().get('/*', sse({ chunkGenerator: () => ({ data: 'never sent' }) }));
app.listen('127.0.0.1', 0, (listenSocket) => {
  if (!listenSocket) throw new Error('the fallback could not listen');
  const port = uWS.us_socket_local_port(listenSocket);
  request({ host: '127.0.0.1', port, path: '/?stream=true', agent: false })
    .on('error', () => {})
    .end();
});
