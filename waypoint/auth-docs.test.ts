// Docs are part of done: every limit of the waypoint's authentication and of the
// RequestAuthentication compiler is documented in docs/configuration.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { REQUEST_AUTHN_COMPILE_LIMITS } from '../core/config/request-authn.js';
import { WAYPOINT_AUTH_DEFAULTS } from './limits.js';

test('every_waypoint_auth_limit_is_documented_in_configuration_md', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  const missing = [...Object.keys(WAYPOINT_AUTH_DEFAULTS), ...Object.keys(REQUEST_AUTHN_COMPILE_LIMITS)].filter((k) => !doc.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
  assert.ok(doc.includes('`WAYPOINT_AUTH_DEFAULTS`') && doc.includes('`REQUEST_AUTHN_COMPILE_LIMITS`'));
});
