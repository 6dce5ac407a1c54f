import type { UwsHttpResponse } from './uws.js';

/**
 * The response and chunk of the corked write in progress. `res.cork()` runs its callback before
 * it returns, so one set of slots serves every write, and a write makes no closure.
 */
let slotResponse: UwsHttpResponse | undefined;
let slotChunk: Uint8Array | undefined;
let slotAccepted = false;

function writeSlot(): void {
  slotAccepted = slotResponse!.write(slotChunk!);
}

/**
 * `res.write(chunk)` inside `res.cork()`, so uWS sends the chunk and its chunked framing in one
 * syscall. Returns what `write()` returned: `false` when uWS buffered what the socket did not take.
 */
export function corkedWrite(res: UwsHttpResponse, chunk: Uint8Array): boolean {
  slotResponse = res;
  slotChunk = chunk;
  try {
    res.cork(writeSlot);
  } finally {
    // Not kept past the write: a response may be gone by the next one.
    slotResponse = undefined;
    slotChunk = undefined;
  }
  return slotAccepted;
}
