// The Hono app of the quickstart before it.
declare const app: InstanceType<typeof import('hono').Hono>;
