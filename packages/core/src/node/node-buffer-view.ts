interface BufferConstructorLike {
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array;
  isBuffer(value: unknown): boolean;
}

/** Node's `Buffer`, when there is one: the core imports nothing from Node. */
const NodeBuffer = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;

let lastChunk: Uint8Array | undefined;
let lastView: Uint8Array | undefined;

/**
 * A Buffer over the same memory as `chunk` (no copy), made once for a run of writes of the same
 * chunk. Node's streams wrap every other Uint8Array in a new Buffer on each write; a broadcast
 * writes one chunk to every stream in turn, so this is one Buffer per event, not per stream.
 */
export function asNodeBuffer(chunk: Uint8Array): Uint8Array {
  if (chunk === lastChunk) return lastView!;
  if (!NodeBuffer || NodeBuffer.isBuffer(chunk)) return chunk;
  lastChunk = chunk;
  lastView = NodeBuffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return lastView;
}
