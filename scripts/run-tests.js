// Runs every compiled *.test.js under dist/ with Node's built-in test runner.
// Listing the files ourselves (rather than `node --test dist`) keeps test helpers that
// live in test/ folders from being run as test files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filter = process.argv[2];
const files = find('dist', []).filter((f) => !filter || f.includes(filter)).sort();
if (files.length === 0) {
  console.error(`run-tests: no test files under dist/${filter ? ` matching ${filter}` : ''}`);
  process.exit(1);
}
// The runner applies --test-timeout to each file as a whole, and the e2e files (each a
// local cluster with several nodes, asserting on their own tighter per-step bounds) take
// 2-3 minutes alone on 2 cores and longer beside another file: 10 minutes per file keeps
// a loaded machine from cancelling them while still bounding a hung file.
const FILE_TIMEOUT_MS = 600_000;
const args = ['--test', '--test-concurrency=2', `--test-timeout=${FILE_TIMEOUT_MS}`, ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
