// The Koa app of the quickstart before it.
declare const app: InstanceType<typeof import('koa')>;
