import { describe } from 'vitest';
import type { ConformanceHarness } from './harness.js';
import { admissionTests } from './suite/admission.js';
import { authorizationTests } from './suite/authorization.js';
import { backpressureTests } from './suite/backpressure.js';
import { clientTests } from './suite/clients.js';
import { crossServerTests } from './suite/cross-server.js';
import { defaultPipelineTests } from './suite/default-pipeline.js';
import { encodingTests } from './suite/encoding.js';
import { faultTests } from './suite/faults.js';
import { framingTests } from './suite/framing.js';
import { headerTests } from './suite/headers.js';
import { lenientClientTests } from './suite/lenient-clients.js';
import { lifecycleTests } from './suite/lifecycle.js';
import { limitTests } from './suite/limits.js';
import { matchingTests } from './suite/matching.js';
import { postStreamTests } from './suite/post-streams.js';
import { pushTests } from './suite/push.js';
import { shutdownTests } from './suite/shutdown.js';
import { sourceTests } from './suite/sources.js';

export {
  type Encoding,
  type FirstEvent,
  firstCompressedEvent,
  GIVE_UP_MS,
  NO_TRANSFORM_DROPPED,
  polledEcho,
  spacedEvents,
} from './compressed-client.js';
export { describeExampleContract, type ExampleHarness } from './example-contract.js';
export {
  AMBIGUOUS_FRAMINGS,
  type AmbiguousFraming,
  plainPost,
} from './framing-cases.js';
export {
  type Capabilities,
  CORS_ORIGIN,
  type ConformanceHarness,
  type ConformanceServer,
  type EchoBody,
  type FixtureOptions,
  fixtureUser,
  type InnerAnswer,
  type InnerHeaders,
  innerAbortCount,
  innerRequestCount,
  innerResponse,
  innerSlowResponse,
  MULTIBYTE_TEXT,
  type RouteFixtureOptions,
  UpstreamFailure,
} from './harness.js';
export {
  afterHeadComment,
  fetchRaw,
  openStream,
  type RawResponse,
  type RawStream,
  sleep,
  until,
} from './http-client.js';
export { listening, listenNode } from './listen.js';
export { listenFetch, RUNTIME, RUNTIME_LIMITS } from './listen-fetch.js';
export { type RawConnection, rawConnect, statusesIn } from './raw-socket.js';

/**
 * The conformance suite, written once: every adapter runs it unchanged against its own real server.
 *
 * ```ts
 * describeConformance({ name: 'node-http', start: (options) => startNodeServer(options) });
 * ```
 */
export function describeConformance(harness: ConformanceHarness): void {
  describe(`conformance: ${harness.name}`, () => {
    describe('headers', () => headerTests(harness));
    describe('request matching', () => matchingTests(harness));
    describe('default pipeline', () => defaultPipelineTests(harness));
    describe('connection limit', () => limitTests(harness));
    describe('stream lifecycle', () => lifecycleTests(harness));
    describe('sources', () => sourceTests(harness));
    describe('backpressure', () => backpressureTests(harness));
    describe('encoding', () => encodingTests(harness));
    describe('real clients', () => clientTests(harness));
    describe('lenient clients', () => lenientClientTests(harness));
    describe('across servers', () => crossServerTests(harness));
    describe('graceful shutdown', () => shutdownTests(harness));
    describe('faults', () => faultTests(harness));
    describe('push: channels, replay, heartbeats, slow consumers, limits', () =>
      pushTests(harness));
    describe('framing and pipelining', () => framingTests(harness));
    describe('POST, per-request, finite and resumable streams', () => postStreamTests(harness));
    describe('admission: origins, hosts, rate of new streams', () => admissionTests(harness));
    describe('authorization: principals, topics, expiry, revocation, tickets', () =>
      authorizationTests(harness));
  });
}
