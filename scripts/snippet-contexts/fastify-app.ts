// The Fastify app of the quickstart before it.
declare const app: import('fastify').FastifyInstance;
