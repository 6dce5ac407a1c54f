// The node:http server the app listens on.
declare const server: import('node:http').Server;
