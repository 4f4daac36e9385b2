// The waypoint's limits are documented like core's (test/docs.test.ts checks core/limits.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WAYPOINT_DEFAULTS } from '../waypoint/limits.js';

test('every waypoint limit is documented in docs/configuration.md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const missing = Object.keys(WAYPOINT_DEFAULTS).filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, [], 'add these limits to docs/configuration.md');
});
