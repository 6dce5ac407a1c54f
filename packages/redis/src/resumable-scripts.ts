import { defineScript } from './script.js';

/**
 * The scripts of the resumable store, each one atomic. A stream is two keys: a hash, its meta
 * (`last`: the last seq, `epoch`: the prefix of its event ids, `outcome` once finished, `stop` once a stop was asked for, `lease`: the
 * Redis-clock ms until which the producer holds its lease), whose
 * existence is the stream's; and a Redis stream of its events, entry id `0-<seq>`, fields `d`
 * (data) and `e` (event name, when there is one), which exists from the first event on. Both
 * expire at the same time, `ttlMs` after the create.
 */

/** KEYS: meta, events. ARGV: ttlMs, epoch. 1 when created, 0 when the stream exists. */
export const CREATE = defineScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'last', 0, 'epoch', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`);

/**
 * KEYS: meta, events. ARGV: seq, channel, data[, event]. Appends the event and publishes its seq
 * on the channel: 1. Ignores it (0) when the stream is missing or finished, or has that seq
 * already (an append resent); a seq that skips some is an error.
 */
export const APPEND = defineScript(`
local meta = redis.call('HMGET', KEYS[1], 'last', 'outcome')
if not meta[1] or meta[2] then return 0 end
local last = tonumber(meta[1])
local seq = tonumber(ARGV[1])
if seq <= last then return 0 end
if seq ~= last + 1 then
  return redis.error_reply('ERR resumable stream event ' .. seq .. ' does not follow ' .. last)
end
if ARGV[4] then
  redis.call('XADD', KEYS[2], '0-' .. seq, 'd', ARGV[3], 'e', ARGV[4])
else
  redis.call('XADD', KEYS[2], '0-' .. seq, 'd', ARGV[3])
end
redis.call('HSET', KEYS[1], 'last', seq)
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
redis.call('PUBLISH', ARGV[2], seq)
return 1
`);

/** KEYS: meta. ARGV: outcome, channel. Marks the end and publishes it: 1; 0 when missing or finished. */
export const FINISH = defineScript(`
local meta = redis.call('HMGET', KEYS[1], 'last', 'outcome')
if not meta[1] or meta[2] then return 0 end
redis.call('HSET', KEYS[1], 'outcome', ARGV[1])
redis.call('PUBLISH', ARGV[2], 'end')
return 1
`);

/** Lua: Redis's own clock in ms, so that every process reads a lease against the same clock. */
const NOW_MS = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/** KEYS: meta. ARGV: leaseMs. Extends the producer's lease of a running stream: 1; 0 otherwise. */
export const RENEW = defineScript(`
local meta = redis.call('HMGET', KEYS[1], 'last', 'outcome')
if not meta[1] or meta[2] then return 0 end
${NOW_MS}
redis.call('HSET', KEYS[1], 'lease', now + tonumber(ARGV[1]))
return 1
`);

/**
 * KEYS: meta, events. ARGV: the `XRANGE` start, exclusive. `{ last, outcome, entries, abandoned, epoch }`
 * as an array, or nil when the stream is missing: the meta and the events of one moment;
 * `abandoned` is 1 when the stream has no outcome and its lease has lapsed.
 */
export const READ = defineScript(`
local meta = redis.call('HMGET', KEYS[1], 'last', 'outcome', 'lease', 'epoch')
if not meta[1] then return nil end
local abandoned = 0
if not meta[2] and meta[3] then
  ${NOW_MS}
  if tonumber(meta[3]) < now then abandoned = 1 end
end
return { meta[1], meta[2], redis.call('XRANGE', KEYS[2], ARGV[1], '+'), abandoned, meta[4] }
`);

/**
 * KEYS: meta. ARGV: channel. Marks the stop (for a producer not yet listening) and publishes it:
 * 1; 0 when the stream is missing or finished.
 */
export const REQUEST_STOP = defineScript(`
local meta = redis.call('HMGET', KEYS[1], 'last', 'outcome')
if not meta[1] or meta[2] then return 0 end
redis.call('HSET', KEYS[1], 'stop', 1)
redis.call('PUBLISH', ARGV[1], 'stop')
return 1
`);
