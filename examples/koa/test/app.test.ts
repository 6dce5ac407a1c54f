import { fileURLToPath } from 'node:url';
import { describeExampleContract, listenNode } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

describeExampleContract({
  name: 'koa',
  start: () => listenNode(buildApp().callback()),

  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
