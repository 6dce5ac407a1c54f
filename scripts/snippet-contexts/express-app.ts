// An Express 5 app (its route methods, as far as a snippet uses them).
declare const app: {
  post(
    path: string,
    ...handlers: ((
      req: import('node:http').IncomingMessage,
      res: import('node:http').ServerResponse,
    ) => unknown)[]
  ): unknown;
};
