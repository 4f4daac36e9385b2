// Docs are part of done: every error code and every limit is documented, and the README
// starts with the two set-up commands that .ci/run runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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

test('every test docs/security.md cites exists in the suite', () => {
  const doc = read('docs/security.md');
  // Test names are snake_case in backquotes; error codes and limits are not snake_case words.
  const cited = [...new Set([...doc.matchAll(/`([a-z0-9]+(?:_[a-z0-9]+){3,})`/g)].map((m) => m[1]!))];
  assert.ok(cited.length >= 40, `security.md should cite the tests that prove each boundary (found ${cited.length})`);
  const sources = testSources().join('\n');
  const missing = cited.filter((name) => !sources.includes(`'${name}'`));
  assert.deepEqual(missing, [], 'docs/security.md cites tests that do not exist');
});

test('docs/security.md covers every boundary of the design', () => {
  const doc = read('docs/security.md');
  for (const boundary of ['HBONE 15008', 'controller 15012', 'CNI hand-off', 'admin 15000']) {
    assert.ok(doc.includes(boundary), `docs/security.md should have a row for ${boundary}`);
  }
});

/** Every .ts file of the project's sources (tests live beside the code and in test/). */
function testSources(): string[] {
  const root = new URL('../../', import.meta.url);
  const out: string[] = [];
  const walk = (dir: URL, depth: number) => {
    if (depth > 8) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(new URL(`${e.name}/`, dir), depth + 1);
      else if (e.name.endsWith('.test.ts')) out.push(readFileSync(new URL(e.name, dir), 'utf8'));
    }
  };
  walk(root, 0);
  return out;
}
