// The request listener a snippet wraps: a plain node:http handler.
declare function handler(
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
): void;
