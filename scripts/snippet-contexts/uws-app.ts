// The uWebSockets.js app of the quickstart before it, and its listen socket.
declare const app: import('uWebSockets.js').TemplatedApp;
declare const listenSocket: import('uWebSockets.js').us_listen_socket;
