export {
  CHAT_TTL_MS,
  chatIdOf,
  chatResumeOptions,
  chatStartOptions,
  createExampleChats,
  EXAMPLE_CHAT_PREFIX,
  stopChat,
} from './chats.js';
export {
  DASHBOARD_BUILD_COMMAND,
  DASHBOARD_CSP,
  DASHBOARD_PATHS,
  type DashboardAnswer,
  dashboardAsset,
} from './dashboard.js';
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
export {
  createGenerationCounter,
  echoDelayFromEnv,
  echoWords,
  type GenerationCounter,
  type Generations,
} from './generations.js';
export { announceListening, closeNodeServer, listenAddress, onShutdown } from './listen.js';
export {
  EVENT_LOOP_RESOLUTION_MS,
  type EventLoopMetrics,
  type ProcessMetrics,
  processMetrics,
} from './metrics.js';
export {
  type CompletionRequest,
  chatCompletionsOptions,
  ECHO_MODEL,
  MAX_COMPLETION_BODY_BYTES,
  openAiError,
  parseCompletionRequest,
} from './openai.js';
export { createPostStreams, type PostStreams } from './post-streams.js';
export {
  cookieValue,
  createPrivateStreams,
  DEFAULT_JWT_SECRET,
  type HeaderLookup,
  PRIVATE_DISCONNECT_CHANNEL,
  PRIVATE_REALM,
  PRIVATE_STREAM_KEY,
  PRIVATE_TICKET_PREFIX,
  type PrivateAnswer,
  type PrivatePost,
  type PrivateSettings,
  type PrivateStreams,
  privateSettingsFromEnv,
  SESSION_COOKIE,
  TICKET_TTL_MS,
  userTopic,
} from './private.js';
export { createScoreboard, type Scoreboard } from './scoreboard.js';
