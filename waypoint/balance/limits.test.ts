import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BALANCE_LIMITS } from './limits.js';

test('every_balance_limit_is_documented_in_configuration_md', () => {
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(doc.includes('`BALANCE_LIMITS`'));
  const missing = Object.keys(BALANCE_LIMITS).filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'add these limits to docs/configuration.md');
});

test('balance_limits_are_consistent', () => {
  const l = BALANCE_LIMITS;
  assert.ok(l.minRingSize <= l.defaultRingSize && l.defaultRingSize <= l.maxRingSize);
  assert.ok(l.minMaglevTableSize <= l.defaultMaglevTableSize && l.defaultMaglevTableSize <= l.maxMaglevTableSize);
  assert.ok(l.slowStartMinWeightPercent > 0 && l.slowStartMinWeightPercent <= 100);
  assert.ok(l.leastRequestChoices >= 2);
});
