import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/adapter.ts', 'src/node.ts'],
  format: ['esm', 'cjs'],
  // Shared chunks in both formats: a module's state (the stream-socket marks, say) must be one
  // instance for all three entries, which esbuild gives CommonJS only with splitting on.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
