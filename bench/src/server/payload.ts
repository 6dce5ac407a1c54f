/**
 * Event data: `<server hrtime ns> <seq> <padding>`, exactly `size` bytes of ASCII. The load
 * generator reads the timestamp back (process.hrtime.bigint() is CLOCK_MONOTONIC, the same clock
 * in every process) and gets per-event latency.
 */
const paddings = new Map<number, string>();

function padding(length: number): string {
  let pad = paddings.get(length);
  if (pad === undefined) {
    pad = 'x'.repeat(length);
    paddings.set(length, pad);
  }
  return pad;
}

export function eventData(seq: number, size: number): string {
  const head = `${process.hrtime.bigint()} ${seq} `;
  return head + padding(Math.max(1, size - head.length));
}
