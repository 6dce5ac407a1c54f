// The app's routes: answered requests end there (no next()).
declare const routes: import('koa').Middleware;
