// Docs are part of done: every error code and every limit is documented, and the README
// starts with the two set-up commands that .ci/run runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ErrorCodes } from '../core/errors.js';
import * as coreLimits from '../core/limits.js';
import * as localClusterLimits from '../local-cluster/limits.js';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

test('every error code is documented in docs/errors.md', () => {
  const doc = read('docs/errors.md');
  const missing = Object.values(ErrorCodes).filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, [], 'add these codes to docs/errors.md');
});

test('error codes are unique', () => {
  const codes = Object.values(ErrorCodes);
  assert.equal(new Set(codes).size, codes.length);
});

test('every limit is documented in docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  const missing: string[] = [];
  for (const group of [...Object.values(coreLimits), ...Object.values(localClusterLimits)]) {
    if (typeof group !== 'object' || group === null) continue;
    for (const key of Object.keys(group)) if (!doc.includes(`\`${key}\``)) missing.push(key);
  }
  assert.deepEqual(missing, [], 'add these limits to docs/configuration.md');
});

test('.ci/run runs the README set-up and test commands', () => {
  const readme = read('README.md');
  const ci = read('.ci/run');
  for (const cmd of ['bash scripts/setup.sh', 'npm test']) {
    assert.ok(readme.slice(0, 2000).includes(cmd), `README should show \`${cmd}\` near its top`);
    assert.ok(ci.includes(cmd), `.ci/run should run \`${cmd}\``);
  }
});
