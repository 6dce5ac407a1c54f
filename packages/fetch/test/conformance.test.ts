import { describeConformance } from '@sse-middleware/conformance';
import { harness } from './fixture.js';

describeConformance(harness);
