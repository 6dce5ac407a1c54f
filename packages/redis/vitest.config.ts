import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

// These tests start real redis-server and Node processes, and kill and restart them: on a busy
// 2-core machine that takes longer than the shared 20 s bound allows.
export default mergeConfig(sharedConfig(import.meta.url), {
  test: { testTimeout: 60_000, hookTimeout: 60_000 },
});
