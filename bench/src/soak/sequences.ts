/**
 * The end-of-soak check over every stream's sequence: what was acknowledged and not delivered is
 * lost; what a rejected publish left out is not; anything delivered twice or out of order is a
 * duplicate.
 */
import type { ClientVerdict, PublishOutcome } from './protocol.js';

export interface SequenceCheck {
  streams: number;
  /** Deliveries owed: per stream, every acknowledged event from its first one to the last. */
  expected: number;
  /** Acknowledged events a stream never received (stream × event). */
  lost: number;
  /** Up to 20 of the sequence numbers lost, with the streams that lost each. */
  lostSeqs: Array<[number, number]>;
  duplicated: number;
  silent: number;
  replayGaps: number;
  publishFailures: number;
  /** Deliveries of events whose publish rejected (written to Redis, reply lost): not losses. */
  deliveredDespiteFailure: number;
  /** The last sequence number every stream was checked up to. */
  lastSeq: number;
}

export function checkSequences(
  verdicts: ClientVerdict[],
  outcome: PublishOutcome,
  lastSeq: number,
): SequenceCheck {
  const failed = new Set(outcome.failedSeqs.filter((seq) => seq <= lastSeq));
  const missing = new Map<number, number>();
  const firstSeqs = new Map<number, number>();
  for (const verdict of verdicts) {
    for (const [seq, n] of verdict.missing) missing.set(seq, (missing.get(seq) ?? 0) + n);
    for (const [seq, n] of verdict.firstSeqs) firstSeqs.set(seq, (firstSeqs.get(seq) ?? 0) + n);
  }
  let lost = 0;
  const lostSeqs: Array<[number, number]> = [];
  for (const [seq, n] of [...missing].sort((a, b) => a[0] - b[0])) {
    if (failed.has(seq)) continue;
    lost += n;
    if (lostSeqs.length < 20) lostSeqs.push([seq, n]);
  }
  const failedSorted = [...failed].sort((a, b) => a - b);
  const failedFrom = (first: number) => failedSorted.filter((seq) => seq >= first).length;
  let expected = 0;
  for (const [first, n] of firstSeqs) expected += n * (lastSeq - first + 1 - failedFrom(first));
  let deliveredDespiteFailure = 0;
  for (const seq of failed) {
    let covering = 0;
    for (const [first, n] of firstSeqs) if (first <= seq) covering += n;
    deliveredDespiteFailure += covering - (missing.get(seq) ?? 0);
  }
  const sum = (pick: (v: ClientVerdict) => number) => verdicts.reduce((n, v) => n + pick(v), 0);
  return {
    streams: sum((v) => v.streams),
    expected,
    lost,
    lostSeqs,
    duplicated: sum((v) => v.duplicates),
    silent: sum((v) => v.silent),
    replayGaps: sum((v) => v.replayGaps),
    publishFailures: outcome.failedSeqs.length,
    deliveredDespiteFailure,
    lastSeq,
  };
}
