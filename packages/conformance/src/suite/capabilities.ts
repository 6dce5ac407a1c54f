import { it } from 'vitest';
import type { Capabilities, ConformanceHarness } from '../harness.js';

/** Declares a test that needs a capability; without it, the test is listed as skipped with its reason. */
export function itWhen(
  harness: ConformanceHarness,
  capability: keyof Capabilities,
  title: string,
  body: () => Promise<void>,
) {
  const value = harness.capabilities?.[capability] ?? true;
  if (value === true) it(title, body);
  else it.skip(`${title} [not applicable to ${harness.name}: ${value}]`, body);
}
