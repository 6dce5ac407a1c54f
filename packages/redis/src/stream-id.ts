/** A Redis stream entry id, `<milliseconds>-<sequence>`, as two unsigned 64-bit integers. */
export interface StreamId {
  readonly ms: bigint;
  readonly seq: bigint;
}

const MAX_U64 = (1n << 64n) - 1n;
const SHAPE = /^(\d{1,20})-(\d{1,20})$/;

/** The largest id there can be. */
export const MAX_ID: StreamId = { ms: MAX_U64, seq: MAX_U64 };

/** The id before any entry: reading after it reads the whole stream. */
export const ZERO_ID = '0-0';

/** Parses `1732412345678-0`; `undefined` for anything else (a bare number, spaces, overflow). */
export function parseStreamId(text: string): StreamId | undefined {
  const match = SHAPE.exec(text);
  if (!match) return undefined;
  const ms = BigInt(match[1]!);
  const seq = BigInt(match[2]!);
  return ms <= MAX_U64 && seq <= MAX_U64 ? { ms, seq } : undefined;
}

/** Orders two ids as Redis does: negative when `a` comes first, 0 when equal, positive after. */
export function compareStreamIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

/** Parses an id that Redis itself returned; throws if it is not one (a protocol error). */
export function streamIdFromRedis(text: string): StreamId {
  const id = parseStreamId(text);
  if (!id) throw new Error(`Redis returned ${JSON.stringify(text)} where a stream id was expected`);
  return id;
}
