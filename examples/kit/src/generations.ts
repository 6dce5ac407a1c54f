/** Generations of the echo model, for `/app/metrics`: both `/v1/chat/completions` and `/chat`. */
export interface Generations {
  readonly started: number;
  readonly completed: number;
  /** Ended before the last word: the client left (`/v1/chat/completions`), or stopped or expired (`/chat`). */
  readonly aborted: number;
}

export interface GenerationCounter {
  started(): void;
  completed(): void;
  aborted(): void;
  snapshot(): Generations;
}

export function createGenerationCounter(): GenerationCounter {
  const counts = { started: 0, completed: 0, aborted: 0 };
  return {
    started: () => {
      counts.started += 1;
    },
    completed: () => {
      counts.completed += 1;
    },
    aborted: () => {
      counts.aborted += 1;
    },
    snapshot: () => ({ ...counts }),
  };
}

/** `ECHO_DELAY_MS`: the pause between two words of the echo model (default 20). */
export function echoDelayFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.ECHO_DELAY_MS;
  if (raw === undefined || raw === '') return 20;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    throw new TypeError(
      `ECHO_DELAY_MS must be a whole number of milliseconds from 0 to 60000, received ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** The echo model's words: one per chunk, each keeping the whitespace after it. */
export function echoWords(text: string): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  const lead = /^\s+/.exec(text)?.[0];
  if (lead && words.length > 0) words[0] = lead + words[0];
  return words;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
