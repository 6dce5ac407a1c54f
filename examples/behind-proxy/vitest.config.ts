import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// These tests start the five examples and real nginx and HAProxy processes, and hold streams
// open past the proxies' idle timeouts: on a busy 2-core machine that takes longer than the
// shared 20 s bound allows.
export default mergeConfig(sharedConfig(import.meta.url), {
  test: { testTimeout: 60_000, hookTimeout: 120_000 },
});
