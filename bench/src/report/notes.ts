/**
 * Explanations printed under the targets table for a target that a run missed: why, and what
 * would close it. Keyed by `<target id>:<adapter>` or, for all adapters, by `<target id>`. The
 * figures quoted here come from the investigations described in them (heap-snapshot diffs and a
 * write micro-benchmark on the same harness), not from the run above.
 */

const PER_DELIVERY =
  'Each delivery goes through the engine: the channel loop checks the subscriber (topics, filter), then calls the push delivery, `StreamOutput.send` (a `Date.now()` for the heartbeat clock, the backpressure state), the sink (abort check, `res.write` of the encoded bytes, `res.flush?.()`) and the `written` metrics hook: about six calls around the one `res.write` a raw endpoint makes, plus an `id:` line per event (kept for replay). Encoding once does not buy that back: on the same harness (5,000 node:http streams, 10 events, median of 3) a `res.write` of a string cost 13.9 µs per delivery and of a Uint8Array 14.2 µs; the syscall per socket dominates.';

const SLIMMER_PATH =
  'What would close it: a channel fast path for subscribers without topics or filter that loops straight over the sinks; one clock read and one metrics update per publish instead of per write; and on Node, a pre-framed chunk (`<hex size>\\r\\n…\\r\\n`, built once per event) written to `res.socket`, which cost 11.6 µs per delivery in the same micro-benchmark (17% under a string `res.write`).';

const PER_STREAM_OBJECTS =
  'A heap-snapshot diff (2,000 streams, ours against raw, after GC; counting object kinds with at least 0.9 objects per stream) puts the extra at about 6.2 KiB on node:http, 6.3 KiB on Fastify and 6.1 KiB on Koa: the same JavaScript objects per stream that a hand-written endpoint does not have, namely two suspended async functions (`serve()`→`stream()` and `pumpPush()`: Generator objects with their register arrays, ~1.1 KiB), two AbortControllers with their EventTargets, listeners and Maps (~0.5 KiB), ~16 closure contexts and ~15 named closures (stop, end, head, write, close, release, drain, written, dropped, overflowed, onDisconnect, unsubscribe, send…, ~1.6 KiB), ~12 more plain objects (request view, headers, slot, subscriber, ~0.6 KiB), 6 promises with their reactions (~0.5 KiB) and the StreamOutput. What would close it: one per-stream state object (a class with methods instead of closures), one abort flag with a callback list instead of two AbortControllers, a callback-driven push subscription instead of suspended async functions, and a request view built only when a matcher or generator asks: together about 1 KiB.';

const ENGINE_OBJECTS =
  "The engine's own per-stream JavaScript objects (about 6 KiB: two suspended async functions, two AbortControllers, ~15 closures, the request view, the StreamOutput; itemised in the note on the other adapters' memory) are here too.";

export const MISSED_NOTES: Record<string, string> = {
  'cpu-vs-raw': `${PER_DELIVERY} Every Node adapter (node:http, Fastify's hijacked reply, Koa's \`ctx.res\`, Hono's \`c.env.outgoing\`) ends in the same sink on the same \`ServerResponse\`, so their CPU per delivery is the same code; where their ratios here differ widely, that is the machine's noise (see How noisy this run is), not the adapter. ${SLIMMER_PATH}`,
  'cpu-vs-raw:hono':
    'The Hono adapter takes the same Node fast path as node:http (it writes to `c.env.outgoing`), so it pays the same per-delivery engine path as the others (see node:http), and no Web Streams bridge. ' +
    SLIMMER_PATH,
  'mem-vs-raw': PER_STREAM_OBJECTS,
  'mem-vs-raw:hono': `${ENGINE_OBJECTS} On Hono the same heap-snapshot diff gives 8.4 KiB rather than about 6.2 KiB: the matched request view keeps \`raw: c\`, so each stream also keeps its Hono Context, Request wrapper and header objects alive for its whole life. Handing the engine a small copy of what matchers and generators read (method, URL, headers on demand) instead of the Context would release them; the rest closes as for the other adapters.`,
  'mem-vs-raw:uws': `${ENGINE_OBJECTS} The raw uWS endpoint holds about 1.3 KiB per stream, all native, so the engine's JavaScript is nearly all of ours; \`copyRequest\` also copies every request header into an object that lives as long as the stream. What would close it: the per-stream slimming described for the other adapters, and keeping only the headers a matcher or Last-Event-ID needs.`,
  'hono-vs-node-raw': `Ours on Hono writes to the Node response as node:http does; what it adds over raw node:http is Hono's per-request context and routing, and the engine's per-delivery path. ${SLIMMER_PATH}`,
  'broadcast-vs-better-sse':
    'better-sse is cheaper per broadcast than its design suggests: it serializes the event once per session, but that JavaScript (JSON.stringify, a string buffer, one `res.write` of a string) is small next to the write syscall per socket that both pay (~10 µs on this machine). Using 1.5x less CPU than better-sse would take ours about a third under the raw baseline, which writes nothing it does not need to. What would close most of it: the pre-framed socket write (17% under a string `res.write`, see the CPU target), and coalescing: events published in the same tick written to each socket as one chunk (cork per tick), which divides the syscall cost by the number of events coalesced (it cannot help one event per tick, as in this fan-out).',
  'uws-mem': `${ENGINE_OBJECTS} The raw uWS endpoint holds about 1.3 KiB per stream, all native: the 2 KiB target leaves under 1 KiB for the engine's JavaScript, so it needs the whole per-stream slimming described for the other adapters (one state object, no AbortControllers, no suspended async functions, a lazy request view) and \`copyRequest\` keeping only the headers a matcher or Last-Event-ID needs.`,
  'p99-vs-raw': `A broadcast's p99 is the time the fan-out loop takes to reach the last 1% of the streams: N × the cost of one write (plus one client core reading them). Ours writes each event once per socket like the raw baseline, so its tail follows its CPU per delivery (see the CPU target); encoding once saves nothing measurable next to the write syscall, and corking only batches when several events are due at the same time. Tails at 10,000 streams also swing with the machine's load, since they include the single client core's backlog (compare the raw baselines of the Node adapters, identical code, in the latency table): one run's ratio is indicative only. What would close it: the same cheaper per-delivery path. ${SLIMMER_PATH}`,
  'held-streams':
    'A stream that was not held or an event not delivered fails the run; see Failures below for which and why.',
};
