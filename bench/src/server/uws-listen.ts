import uWS from 'uWebSockets.js';

/** Listens on an ephemeral port of 127.0.0.1 (uWS has no backlog option: its own default). */
export function listenUws(app: uWS.TemplatedApp): Promise<number> {
  return new Promise((resolve, reject) => {
    app.listen('127.0.0.1', 0, (listenSocket) => {
      if (listenSocket === false) reject(new Error('uWS cannot listen'));
      else resolve(uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket));
    });
  });
}
