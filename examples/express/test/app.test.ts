import { fileURLToPath } from 'node:url';
import { describeExampleContract, listenNode } from '@sse-middleware/conformance';
import { buildApp } from '../src/app.js';

describeExampleContract({
  name: 'express',
  start: () => listenNode(buildApp()),

  main: fileURLToPath(new URL('../src/main.ts', import.meta.url)),
});
