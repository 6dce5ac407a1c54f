import { describeConformance } from '@sse-middleware/conformance';
import { webStreamHarness } from './fixture.js';

describeConformance(webStreamHarness);
