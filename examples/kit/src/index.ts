export { echoRequest, type RequestEcho } from './echo.js';
export {
  type BodyRead,
  createExampleChannel,
  EXAMPLE_STREAM_KEY,
  type ExampleEvents,
  eventsStreamOptions,
  heartbeatFromEnv,
  MAX_PUBLISH_BYTES,
  type PublishAnswer,
  publishRequest,
  readBody,
} from './events.js';
export { listenAddress, onShutdown } from './listen.js';
export { type ProcessMetrics, processMetrics } from './metrics.js';
export { createScoreboard, type Scoreboard } from './scoreboard.js';
