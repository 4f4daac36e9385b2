// The resilience layers' limits are documented like the waypoint's (test/waypoint-docs.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RESILIENCE_DEFAULTS } from './limits.js';
import { HTTPROUTE_RETRY_DEFAULTS } from './retry.js';

test('every_resilience_limit_is_documented_in_configuration_md', () => {
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  const keys = [...Object.keys(RESILIENCE_DEFAULTS), ...Object.keys(HTTPROUTE_RETRY_DEFAULTS)];
  const missing = keys.filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'add these limits to docs/configuration.md');
});
