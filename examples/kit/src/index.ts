export { echoRequest, type RequestEcho } from './echo.js';
export { listenAddress, onShutdown } from './listen.js';
export { type ProcessMetrics, processMetrics } from './metrics.js';
export { createScoreboard, type Scoreboard } from './scoreboard.js';
