import { describe, expect, it } from 'vitest';
import readme from '../README.md?raw';
import { OPTION_KEYS } from '../src/engine/options.js';

/** The option names in the first column of the README's options table. */
const documented = [...readme.matchAll(/^\| `(\w+)`\s*\|/gm)].map((match) => match[1]);

describe('the core README', () => {
  it('lists every option of SseOptions in its options table, and no other', () => {
    expect([...new Set(documented)].sort()).toEqual([...OPTION_KEYS].sort());
  });
});
