/**
 * Explanations printed under the targets table for a target that a run missed: why, and what
 * would close it. Keyed by `<target id>:<adapter>` or, for all adapters, by `<target id>`. The
 * figures quoted here come from the investigations described in them (heap-snapshot diffs and a
 * write micro-benchmark on the same harness), not from the run above.
 */

const PER_DELIVERY =
  "Each delivery goes through the engine: the channel's subscriber loop (topics, filter), the stream's `send`, `StreamOutput.send` (backpressure state, a `Date.now()` for the heartbeat clock), the sink (a client-gone check, `res.write` of a Buffer view made once per event rather than once per socket, `res.flush?.()`) and the `written` metrics hook. On node:http that now costs what a raw `res.write` loop costs (0.94x in this run; 1.00x in a quiet A/B of 2,000 streams × 200 events, median of 3 interleaved rounds). Fastify's hijacked reply, Koa's `ctx.res` and Hono's `c.env.outgoing` end in the very same sink on the same `ServerResponse`, so their per-delivery code is node:http's: where their ratio here differs, that is this run's noise. The identical raw baselines of those four servers spread up to 1.78x (How noisy this run is), and the same adapters at 1,000 streams measure Fastify 0.73x and Koa 1.01x.";

const PER_STREAM_OBJECTS =
  "Each stream is one `ServedStream` object (no suspended async function, no AbortController unless a generator reads `ctx.signal`, no slot object, a `StreamOutput` whose queue exists only under backpressure), so ours now holds +0.53 KiB per idle stream over raw on node:http and +0.82 KiB on Koa. What remains per stream, by a heap-snapshot diff on node:http (5,000 streams, after GC): the `ServedStream` and its `StreamOutput`, the `done` promise with its resolvers, the channel's subscriber and its unsubscribe closure, and the request view with its header accessor, about 1 KiB of heap, 128 B of which is our longer default header block (wire bytes). On Fastify the miss is 0.02 KiB, within this run's noise. What would close the rest: merging `StreamOutput` into the stream object and a request view built only when a matcher or generator asks.";

const UWS_OBJECTS =
  "The raw uWS endpoint holds about 1.1 KiB per stream, all native, so nearly everything ours adds is JavaScript: the per-stream objects of the engine (about 1 KiB, as itemised for node:http), the `UwsResponseSink` with its two uWS callbacks (`onAborted`, `onWritable`; its AbortSignal is now created only if read), and `copyRequest`'s copy of every request header (about 0.5 KiB), made because uWS's request object is valid only during the handler while matchers and generators may read any header later. What would close it: copying only the headers a matcher, `limitPerKey` or Last-Event-ID needs (declared up front), and merging `StreamOutput` into the stream object.";

export const MISSED_NOTES: Record<string, string> = {
  'cpu-vs-raw': PER_DELIVERY,
  'cpu-vs-raw:hono': PER_DELIVERY,
  'mem-vs-raw': PER_STREAM_OBJECTS,
  'mem-vs-raw:hono': `${PER_STREAM_OBJECTS} On Hono the matched request view also keeps \`raw: c\`, so each stream keeps its Hono Context, Request wrapper and header objects alive for its whole life (the raw endpoint drops them once it writes). Handing the engine a small copy of what matchers and generators read instead of the Context would release them.`,
  'mem-vs-raw:uws': UWS_OBJECTS,
  'hono-vs-node-raw':
    "Ours on Hono writes to the Node response as node:http does (`c.env.outgoing`, the same sink), so beyond node:http it adds only Hono's per-request context and routing, paid once per stream, not per delivery.",
  'broadcast-vs-better-sse':
    'better-sse is cheaper per broadcast than its design suggests: it serializes the event once per session, but that JavaScript (JSON.stringify, a string buffer, one `res.write` of a string) is small next to the write syscall per socket that both pay (~10 µs on this machine). Using 1.5x less CPU than better-sse would take ours about a third under the raw baseline, which writes nothing it does not need to. What would close most of it: the pre-framed socket write (17% under a string `res.write`, see the CPU target), and coalescing: events published in the same tick written to each socket as one chunk (cork per tick), which divides the syscall cost by the number of events coalesced (it cannot help one event per tick, as in this fan-out).',
  'uws-mem': UWS_OBJECTS,
  'p99-vs-raw':
    "A broadcast's p99 is the time the fan-out loop takes to reach the last 1% of the streams: N × the cost of one write, plus the single client core's backlog reading them. Ours writes each event once per socket like the raw baseline, so its tail follows its CPU per delivery, which is at or near raw here (Hono 1.03x, uWS at 10,000 streams 1.36x, see the CPU target). Tails at 10,000 streams swing with the machine's load: in this same run Hono's raw p99 in the latency scenario is 193 ms against a fan-out p99 of 153 ms for both ours and raw, so one run's ratio is indicative only.",
  'crossnode-added-p99':
    "One server through Redis adds nothing measurable to p99 at 1,000 clients (see the target above: the median of per-round differences is within ±2 ms of zero, and its `Redis leg` is about 0.8 ms p50 / 2.2 ms p99). The three-server set-up misses because of this machine, not the store: the three servers and Redis share the one core (CPU0) that the single server has to itself, the load generators having the other. Every event wakes all three at once; each fans out to N/3 streams while the others wait for the core, so the slowest one's `Redis leg` grows to about 7.5 ms p50 / 20 ms p99 and its `fan-out` to as long as the single server's whole fan-out; and each server also pays its own tail read and re-encoding per event (server CPU per delivery 23 µs against 16 µs in memory). On separate cores or machines, as a real deployment runs them, the three fan-outs overlap instead, and the added p99 would be the one-server figure. Two cores cannot show that here; nothing in the benchmark would make it fair short of more cores. Some runs also had a redis round with a stall of a second or more whose cause is not established (the run watched with Redis's latency monitor had none, and Redis recorded nothing).",
  'held-streams':
    'A stream that was not held or an event not delivered fails the run; see Failures below for which and why.',
  'cpu-vs-raw:uws':
    "uWS's raw baseline corks and writes one pre-built string per socket in a tight loop; ours goes through the channel's subscriber loop, the stream, `StreamOutput` and the sink, which corks and writes each delivery on its own. At 1,000 streams that costs 1.07x (7.07 against 6.63 µs per delivery in this run), at 10,000 1.36x; the larger gap at 10,000 was not profiled in this run. What would close it: a fan-out that corks once per event loop turn rather than once per write, and the channel writing straight to a stream that is not backpressured (skipping the `StreamOutput` hop).",
  'crossnode-added-p99-one':
    "The Redis leg alone (`XADD`, Redis answering the blocked `XREAD`, the tail waking up) is about 1 ms at the median and 2 to 6 ms at p99 on this machine (the `Redis leg` column of the one-server set-up); a run in which it adds more to the clients' p99 was disturbed by other load (see `p99 per round`).",
};
