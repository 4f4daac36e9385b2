// Bundles the console (console/main.tsx) with esbuild into dist/console/: index.html at the
// top, everything else under assets/, as the controller's API server serves them (`/` and
// `/assets/`). The graph page's code (cytoscape) is a separate chunk loaded only on /graph,
// so the other pages load a few kilobytes. Prints the size of each file it wrote.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const out = join(root, 'dist', 'console');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: { app: join(here, 'main.tsx') },
  outdir: join(out, 'assets'),
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  metafile: true,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  chunkNames: '[name]-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));

let total = 0;
let totalGz = 0;
for (const file of [...Object.keys(result.metafile.outputs).map((f) => join(root, f)), join(out, 'index.html')].sort()) {
  const size = statSync(file).size;
  const gz = gzipSync(readFileSync(file)).length;
  total += size;
  totalGz += gz;
  console.log(`console: ${relative(root, file)} ${(size / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzip)`);
}
// The unit tests of the pure modules (console/**/*.test.ts), for Node's test runner.
const tests = readdirSync(here, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join(here, f));
const testsOut = join(root, 'dist', 'console-tests');
rmSync(testsOut, { recursive: true, force: true });
await build({
  entryPoints: tests,
  outdir: testsOut,
  outbase: here,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});

console.log(`console: total ${(total / 1024).toFixed(1)} KiB (${(totalGz / 1024).toFixed(1)} KiB gzip)`);
