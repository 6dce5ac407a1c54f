interface BufferLike extends Uint8Array {
  latin1Write(text: string, offset: number): number;
}

interface BufferConstructorLike {
  allocUnsafe(size: number): BufferLike;
}

/** Node's `Buffer`, when there is one: the core imports nothing from Node. */
const NodeBuffer = (globalThis as { Buffer?: BufferConstructorLike }).Buffer;

const CR = 0x0d;
const LF = 0x0a;

let lastChunk: Uint8Array | undefined;
let lastFrame: Uint8Array | undefined;

function forget(): void {
  lastChunk = undefined;
  lastFrame = undefined;
}

/**
 * `chunk` as one HTTP/1.1 chunk, `<hex length>\r\n<bytes>\r\n`, in one Buffer: the bytes node:http
 * writes for `res.write(chunk)` on a chunked response, in four writes. A broadcast writes the same
 * chunk to every stream in one loop, so the frame is made once and kept until the loop is over (the
 * next microtask): a chunk filled anew and written again later is framed anew.
 * `undefined` where there is no Node `Buffer`.
 */
export function chunkedFrame(chunk: Uint8Array): Uint8Array | undefined {
  if (chunk === lastChunk) return lastFrame;
  if (!NodeBuffer) return undefined;
  const size = chunk.byteLength.toString(16);
  const frame = NodeBuffer.allocUnsafe(size.length + chunk.byteLength + 4);
  let at = frame.latin1Write(size, 0);
  frame[at++] = CR;
  frame[at++] = LF;
  frame.set(chunk, at);
  at += chunk.byteLength;
  frame[at++] = CR;
  frame[at] = LF;
  if (lastChunk === undefined) queueMicrotask(forget);
  lastChunk = chunk;
  lastFrame = frame;
  return frame;
}
