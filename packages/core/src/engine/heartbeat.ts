import { elapsedMs, msBetween, type StreamOutput } from './output.js';

/**
 * A heartbeat is one comment line with no blank line after it. A spec parser ignores it wherever a
 * line starts, inside an event's block or between two; and clients that dispatch an event on every
 * blank line (`@microsoft/fetch-event-source`, `extended-eventsource`, httpx-sse) see nothing,
 * where `:\n\n` would give them an empty event the application never sent.
 */
const HEARTBEAT = new TextEncoder().encode(':\n');

/**
 * Sends a comment to every stream idle for `intervalMs`, from one timer per engine that runs only
 * while streams are open. A stream waiting on a full client buffer is not idle and gets none.
 */
export function createHeartbeat(intervalMs: number) {
  const outputs = new Set<StreamOutput>();
  let timer: ReturnType<typeof setInterval> | undefined;

  const beat = () => {
    const now = elapsedMs();
    for (const output of outputs) {
      if (!output.backpressured && msBetween(output.lastWriteAt, now) >= intervalMs)
        output.send(HEARTBEAT);
    }
  };

  return {
    add(output: StreamOutput) {
      if (intervalMs <= 0) return;
      outputs.add(output);
      if (!timer) {
        timer = setInterval(beat, Math.max(10, Math.floor(intervalMs / 4)));
        (timer as { unref?: () => void }).unref?.();
      }
    },
    delete(output: StreamOutput) {
      outputs.delete(output);
      if (outputs.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}

export type Heartbeat = ReturnType<typeof createHeartbeat>;
