import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_DIR, PROXIES } from '../src/proxies.js';

const GUIDE = new URL('../../../docs/deploying-behind-a-proxy.md', import.meta.url);

describe('docs/deploying-behind-a-proxy.md', () => {
  for (const [name, { template }] of Object.entries(PROXIES)) {
    it(`shows config/${template}, the configuration the checks run ${name} with, byte for byte`, async () => {
      const [guide, config] = await Promise.all([
        readFile(GUIDE, 'utf8'),
        readFile(join(CONFIG_DIR, template), 'utf8'),
      ]);
      const blocks = [...guide.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
      expect(blocks, `no block of the guide is config/${template}`).toContain(config);
    });
  }
});
