export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One macrotask: every pending microtask has run by then. */
export const tick = () => sleep(0);

/** Resolves once `condition()` holds, checking every 5 ms; rejects after `timeoutMs` naming `what`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** The error `f` throws; fails the test if it does not throw. */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}
