import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { EPOCH_FIELD, EPOCH_SCAN, newEpoch } from './event-id.js';

/**
 * Appends one entry with the epoch of the stream's lifetime, atomically: the epoch of the newest
 * of the stream's last entries that has one, or a new one (ARGV[1]) when the stream does not
 * exist (first publish, `DEL`, `FLUSHALL`, a Redis restarted empty) or none of them has one. Then
 * `XADD` with the configured trimming. Answers `{ epoch, entry id }`.
 *
 * KEYS[1]: the stream. ARGV[1]: the epoch for a new lifetime; ARGV[2]: how many trimming
 * arguments follow; then those, then the entry's fields and values.
 */
const APPEND_SCRIPT = `
local key = KEYS[1]
local function newest(count)
  for _, entry in ipairs(redis.call('XREVRANGE', key, '+', '-', 'COUNT', count)) do
    local fields = entry[2]
    for i = 1, #fields - 1, 2 do
      if fields[i] == '${EPOCH_FIELD}' then
        local value = fields[i + 1]
        if #value >= 1 and #value <= 32 and not string.find(value, '[^0-9a-z]') then return value end
        break
      end
    end
  end
  return nil
end
-- Almost always the last entry has it; entries of other programs have none.
local epoch = newest(1) or newest(${EPOCH_SCAN}) or ARGV[1]
local trims = tonumber(ARGV[2])
local args = { 'XADD', key }
for i = 3, 2 + trims do args[#args + 1] = ARGV[i] end
args[#args + 1] = '*'
for i = 3 + trims, #ARGV do args[#args + 1] = ARGV[i] end
args[#args + 1] = '${EPOCH_FIELD}'
args[#args + 1] = epoch
return { epoch, redis.call(unpack(args)) }
`;

const APPEND_SHA = createHash('sha1').update(APPEND_SCRIPT).digest('hex');

/** The epoch and entry id of an appended entry. */
export interface Appended {
  readonly epoch: string;
  readonly entryId: string;
}

/**
 * Runs the append script (`EVALSHA`, then `EVAL` once if this Redis does not know it yet, as after
 * a restart: a script Redis answered `NOSCRIPT` to did not run, so nothing is appended twice).
 */
export async function appendEntry(
  connection: Redis,
  key: string,
  trimArgs: readonly string[],
  fields: readonly string[],
): Promise<Appended> {
  const args = [newEpoch(), String(trimArgs.length), ...trimArgs, ...fields];
  let reply: unknown;
  try {
    reply = await connection.evalsha(APPEND_SHA, 1, key, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    reply = await connection.eval(APPEND_SCRIPT, 1, key, ...args);
  }
  const [epoch, entryId] = reply as [string, string];
  return { epoch, entryId };
}
