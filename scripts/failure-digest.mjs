// What failed, in a few lines: CI shows only the tail of the test command's output, so the final
// report repeats each failing test's name and first error lines from the full logs.
const ANSI = /\x1b\[[0-9;]*m/g;
const INTERESTING =
  /^\s*(FAIL\s|×|✗)|AssertionError|Error:|timed out|Test timed out|Unhandled|ERR_|error TS\d+/;

/** The lines of `text` that name a failure, at most `limit` of them, de-duplicated. */
export function failureDigest(text, limit = 25) {
  const seen = new Set();
  const lines = [];
  for (const raw of text.replace(ANSI, '').split('\n')) {
    const line = raw.trimEnd();
    if (!INTERESTING.test(line) || seen.has(line.trim())) continue;
    seen.add(line.trim());
    lines.push(line.length > 300 ? `${line.slice(0, 300)}…` : line);
    if (lines.length === limit) {
      lines.push('  … (more in the full log above)');
      break;
    }
  }
  if (lines.length > 0) return lines;
  const tail = text
    .replace(ANSI, '')
    .split('\n')
    .map((line) => line.trimEnd())
    .filter(Boolean)
    .slice(-15);
  return ['  (no failing test named in the log; its last lines:)', ...tail];
}
