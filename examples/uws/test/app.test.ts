import uWS from 'uWebSockets.js';
import { fileURLToPath } from 'node:url';
import { describeExampleContract } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

/** uWebSockets.js v20.30 has `App#close()` (closes every socket), but its typings predate it. */
type ClosableApp = uWS.TemplatedApp & { close?: () => void };

describeExampleContract({
  name: 'uws',
  start() {
    const { app } = buildApp();
    return new Promise((resolve, reject) => {
      app.listen('127.0.0.1', 0, (listenSocket) => {
        if (!listenSocket) {
          reject(new Error('uWS could not listen on 127.0.0.1'));
          return;
        }
        resolve({
          url: `http://127.0.0.1:${uWS.us_socket_local_port(listenSocket)}`,
          close: async () => {
            uWS.us_listen_socket_close(listenSocket);
            const { close } = app as ClosableApp;
            if (typeof close !== 'function') {
              throw new Error(
                'this uWebSockets.js build has no App#close() to end open connections',
              );
            }
            close.call(app);
          },
        });
      });
    });
  },
  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
