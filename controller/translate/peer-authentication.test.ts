// mTLS mode from PeerAuthentication, with Istio's precedence: workload selector, then
// namespace-wide, then the root namespace's mesh-wide policy; oldest wins at one level;
// UNSET inherits; default PERMISSIVE.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerAuthentication } from './input.js';
import { cluster, mustWorkload, namespace, peerAuthentication as pa, pod, problemsOf, TD } from './fixtures.js';
import { translate } from './translate.js';

const APP = { app: 'web' };

function modeOf(policies: PeerAuthentication[], o: { ns?: string; labels?: Record<string, string>; rootNamespace?: string } = {}): string {
  const ns = o.ns ?? 'shop';
  const r = translate(cluster({ namespaces: [namespace(ns)], pods: [pod('web', { ns, labels: o.labels ?? APP })], peerAuthentications: policies }), {
    trustDomain: TD,
    ...(o.rootNamespace ? { rootNamespace: o.rootNamespace } : {}),
  });
  return mustWorkload(r, 'web', ns).mtlsMode;
}

test('peer_authentication_default_is_permissive', () => {
  assert.equal(modeOf([]), 'PERMISSIVE');
});

test('peer_authentication_namespace_wide_strict_applies', () => {
  assert.equal(modeOf([pa('default', 'shop', 'STRICT')]), 'STRICT');
});

test('peer_authentication_in_another_namespace_does_not_apply', () => {
  assert.equal(modeOf([pa('default', 'other', 'STRICT')]), 'PERMISSIVE');
});

test('peer_authentication_root_namespace_applies_mesh_wide', () => {
  assert.equal(modeOf([pa('mesh', 'ambient-system', 'STRICT')]), 'STRICT');
});

test('peer_authentication_root_namespace_option_is_honoured', () => {
  assert.equal(modeOf([pa('mesh', 'ambient-system', 'STRICT')], { rootNamespace: 'mesh-root' }), 'PERMISSIVE');
  assert.equal(modeOf([pa('mesh', 'mesh-root', 'STRICT')], { rootNamespace: 'mesh-root' }), 'STRICT');
});

test('peer_authentication_workload_selector_beats_namespace', () => {
  assert.equal(modeOf([pa('ns', 'shop', 'STRICT'), pa('web', 'shop', 'PERMISSIVE', { selector: APP })]), 'PERMISSIVE');
  assert.equal(modeOf([pa('ns', 'shop', 'PERMISSIVE'), pa('web', 'shop', 'STRICT', { selector: APP })]), 'STRICT');
});

test('peer_authentication_namespace_beats_mesh_wide', () => {
  assert.equal(modeOf([pa('mesh', 'ambient-system', 'STRICT'), pa('ns', 'shop', 'PERMISSIVE')]), 'PERMISSIVE');
});

test('peer_authentication_selector_that_does_not_match_is_ignored', () => {
  assert.equal(modeOf([pa('ns', 'shop', 'STRICT'), pa('db', 'shop', 'PERMISSIVE', { selector: { app: 'db' } })]), 'STRICT');
});

test('peer_authentication_selector_must_match_every_label', () => {
  assert.equal(modeOf([pa('web', 'shop', 'STRICT', { selector: { app: 'web', version: 'v2' } })], { labels: { app: 'web', version: 'v1' } }), 'PERMISSIVE');
  assert.equal(modeOf([pa('web', 'shop', 'STRICT', { selector: { app: 'web', version: 'v2' } })], { labels: { app: 'web', version: 'v2' } }), 'STRICT');
});

test('peer_authentication_selector_in_root_namespace_is_not_mesh_wide', () => {
  assert.equal(modeOf([pa('web', 'ambient-system', 'STRICT', { selector: APP })]), 'PERMISSIVE');
});

test('peer_authentication_empty_match_labels_is_namespace_wide', () => {
  assert.equal(modeOf([pa('ns', 'shop', 'STRICT', { selector: {} })], { labels: {} }), 'STRICT');
});

test('peer_authentication_oldest_wins_at_one_level', () => {
  const older = pa('zz-older', 'shop', 'STRICT', { created: '2024-01-01T00:00:00Z' });
  const newer = pa('aa-newer', 'shop', 'PERMISSIVE', { created: '2024-06-01T00:00:00Z' });
  assert.equal(modeOf([newer, older]), 'STRICT');
  assert.equal(modeOf([older, newer]), 'STRICT');
});

test('peer_authentication_same_age_breaks_tie_by_name', () => {
  assert.equal(modeOf([pa('b', 'shop', 'PERMISSIVE'), pa('a', 'shop', 'STRICT')]), 'STRICT');
});

test('peer_authentication_oldest_wins_among_matching_selectors', () => {
  const older = pa('older', 'shop', 'PERMISSIVE', { selector: APP, created: '2023-01-01T00:00:00Z' });
  const newer = pa('newer', 'shop', 'STRICT', { selector: APP, created: '2024-01-01T00:00:00Z' });
  assert.equal(modeOf([newer, older]), 'PERMISSIVE');
});

test('peer_authentication_creation_time_as_date_or_string_compares_alike', () => {
  const older = pa('zz', 'shop', 'STRICT', { created: new Date('2024-01-01T00:00:00Z') });
  const newer = pa('aa', 'shop', 'PERMISSIVE', { created: '2024-02-01T00:00:00Z' });
  assert.equal(modeOf([newer, older]), 'STRICT');
});

test('peer_authentication_unset_inherits_from_namespace_and_mesh', () => {
  assert.equal(modeOf([pa('ns', 'shop', 'STRICT'), pa('web', 'shop', 'UNSET', { selector: APP })]), 'STRICT');
  assert.equal(modeOf([pa('mesh', 'ambient-system', 'STRICT'), pa('ns', 'shop', undefined)]), 'STRICT');
});

test('peer_authentication_unset_oldest_still_wins_its_level', () => {
  // Istio picks one policy per level first, then inherits if it is UNSET: a newer STRICT
  // at the same level does not take over.
  const older = pa('older', 'shop', 'UNSET', { created: '2023-01-01T00:00:00Z' });
  const newer = pa('newer', 'shop', 'STRICT', { created: '2024-01-01T00:00:00Z' });
  assert.equal(modeOf([older, newer]), 'PERMISSIVE');
});

test('peer_authentication_disable_is_permissive_and_reported', () => {
  const r = translate(cluster({ namespaces: [namespace('shop')], pods: [pod('web', { ns: 'shop' })], peerAuthentications: [pa('mesh', 'ambient-system', 'STRICT'), pa('off', 'shop', 'DISABLE')] }), {
    trustDomain: TD,
  });
  assert.equal(mustWorkload(r, 'web', 'shop').mtlsMode, 'PERMISSIVE');
  assert.match(problemsOf(r, 'PeerAuthentication', 'shop/off')[0]?.message ?? '', /DISABLE is not supported in ambient mode; treated as PERMISSIVE/);
});

test('peer_authentication_unknown_mode_rejected_alone', () => {
  const r = translate(
    cluster({
      namespaces: [namespace('shop')],
      pods: [pod('web', { ns: 'shop' })],
      peerAuthentications: [pa('typo', 'shop', 'strict', { created: '2020-01-01T00:00:00Z' }), pa('good', 'shop', 'STRICT')],
    }),
    { trustDomain: TD },
  );
  // The bad (and older) policy is ignored entirely, so the good one decides.
  assert.equal(mustWorkload(r, 'web', 'shop').mtlsMode, 'STRICT');
  const [p] = problemsOf(r, 'PeerAuthentication', 'shop/typo');
  assert.match(p?.message ?? '', /spec\.mtls\.mode: "strict" is not one of .* did you mean STRICT\?/);
  assert.deepEqual(problemsOf(r, 'PeerAuthentication', 'shop/good'), []);
});

test('peer_authentication_with_bad_selector_rejected_alone', () => {
  const bad = pa('bad', 'shop', 'PERMISSIVE', { selector: { app: 'web' } });
  (bad.spec!.selector!.matchLabels as Record<string, unknown>).app = ['web'];
  const r = translate(cluster({ namespaces: [namespace('shop')], pods: [pod('web', { ns: 'shop', labels: APP })], peerAuthentications: [bad, pa('ns', 'shop', 'STRICT')] }), {
    trustDomain: TD,
  });
  assert.equal(mustWorkload(r, 'web', 'shop').mtlsMode, 'STRICT');
  assert.match(problemsOf(r, 'PeerAuthentication', 'shop/bad')[0]?.message ?? '', /matchLabels\["app"\] is not a string/);
});

// portLevelMtls (https://istio.io/latest/docs/reference/config/security/peer_authentication/:
// "Port specific mutual TLS settings. These only apply when a workload selector is
// specified."; a port's UNSET inherits the workload's resolved mode, as istiod's
// ComposePeerAuthentication does).
function portsOf(policies: PeerAuthentication[], o: { labels?: Record<string, string> } = {}): { mode: string; ports?: Record<string, string>; problems: string[] } {
  const r = translate(cluster({ namespaces: [namespace('shop')], pods: [pod('web', { ns: 'shop', labels: o.labels ?? APP })], peerAuthentications: policies }), { trustDomain: TD });
  const w = mustWorkload(r, 'web', 'shop');
  const out: { mode: string; ports?: Record<string, string>; problems: string[] } = { mode: w.mtlsMode, problems: r.problems.filter((p) => p.kind === 'PeerAuthentication').map((p) => `${p.key}: ${p.message}`) };
  if (w.mtlsPorts) out.ports = w.mtlsPorts;
  return out;
}

test('peer_authentication_port_level_strict_under_permissive_workload', () => {
  const r = portsOf([pa('web', 'shop', 'PERMISSIVE', { selector: APP, portLevelMtls: { '8080': { mode: 'STRICT' } } })]);
  assert.deepEqual(r, { mode: 'PERMISSIVE', ports: { '8080': 'STRICT' }, problems: [] });
});

test('peer_authentication_port_level_permissive_under_strict_workload', () => {
  const r = portsOf([pa('web', 'shop', 'STRICT', { selector: APP, portLevelMtls: { '9000': { mode: 'PERMISSIVE' } } })]);
  assert.deepEqual(r, { mode: 'STRICT', ports: { '9000': 'PERMISSIVE' }, problems: [] });
});

test('peer_authentication_port_level_permissive_under_inherited_namespace_strict', () => {
  const r = portsOf([pa('ns', 'shop', 'STRICT'), pa('web', 'shop', 'UNSET', { selector: APP, portLevelMtls: { '9000': { mode: 'PERMISSIVE' } } })]);
  assert.deepEqual(r, { mode: 'STRICT', ports: { '9000': 'PERMISSIVE' }, problems: [] });
});

test('peer_authentication_port_level_permissive_under_inherited_mesh_strict_with_unset_namespace', () => {
  const r = portsOf([pa('mesh', 'ambient-system', 'STRICT'), pa('ns', 'shop', 'UNSET'), pa('web', 'shop', undefined, { selector: APP, portLevelMtls: { '9000': { mode: 'PERMISSIVE' } } })]);
  assert.deepEqual(r, { mode: 'STRICT', ports: { '9000': 'PERMISSIVE' }, problems: [] });
});

test('peer_authentication_port_level_unset_inherits_the_workload_mode', () => {
  const r = portsOf([pa('ns', 'shop', 'STRICT'), pa('web', 'shop', 'PERMISSIVE', { selector: APP, portLevelMtls: { '8080': { mode: 'UNSET' }, '8081': {} } })]);
  assert.deepEqual(r, { mode: 'PERMISSIVE', problems: [] });
});

test('peer_authentication_port_level_same_as_workload_mode_is_left_out', () => {
  const r = portsOf([pa('web', 'shop', 'STRICT', { selector: APP, portLevelMtls: { '8080': { mode: 'STRICT' }, '9090': { mode: 'PERMISSIVE' } } })]);
  assert.deepEqual(r, { mode: 'STRICT', ports: { '9090': 'PERMISSIVE' }, problems: [] });
});

test('peer_authentication_port_level_disable_is_permissive_and_reported', () => {
  const r = portsOf([pa('web', 'shop', 'STRICT', { selector: APP, portLevelMtls: { '8080': { mode: 'DISABLE' } } })]);
  assert.equal(r.mode, 'STRICT');
  assert.deepEqual(r.ports, { '8080': 'PERMISSIVE' });
  assert.match(r.problems.join('\n'), /shop\/web: spec\.portLevelMtls\["8080"\]\.mode: DISABLE is not supported in ambient mode; treated as PERMISSIVE/);
});

test('peer_authentication_port_level_in_namespace_policy_is_ignored_and_reported', () => {
  const r = portsOf([pa('ns', 'shop', 'PERMISSIVE', { portLevelMtls: { '8080': { mode: 'STRICT' } } })]);
  assert.equal(r.mode, 'PERMISSIVE');
  assert.equal(r.ports, undefined);
  assert.match(r.problems.join('\n'), /shop\/ns: spec\.portLevelMtls is ignored: port-level modes only take effect in a policy with a workload selector/);
});

test('peer_authentication_port_level_in_mesh_policy_is_ignored_and_reported', () => {
  const r = portsOf([pa('mesh', 'ambient-system', 'STRICT', { portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } })]);
  assert.deepEqual(r.ports, undefined);
  assert.equal(r.mode, 'STRICT');
  assert.match(r.problems.join('\n'), /ambient-system\/mesh: spec\.portLevelMtls is ignored/);
});

test('peer_authentication_port_level_junk_in_namespace_policy_does_not_cost_its_mode', () => {
  const r = portsOf([pa('ns', 'shop', 'STRICT', { portLevelMtls: { http: { mode: 'nope' } } })]);
  assert.equal(r.mode, 'STRICT');
});

test('peer_authentication_port_level_of_a_policy_selecting_other_pods_does_not_apply', () => {
  const r = portsOf([pa('db', 'shop', 'PERMISSIVE', { selector: { app: 'db' }, portLevelMtls: { '5432': { mode: 'STRICT' } } })]);
  assert.deepEqual(r, { mode: 'PERMISSIVE', problems: [] });
});

test('peer_authentication_port_level_of_the_oldest_workload_policy_only', () => {
  const older = pa('older', 'shop', 'PERMISSIVE', { selector: APP, created: '2023-01-01T00:00:00Z', portLevelMtls: { '8080': { mode: 'STRICT' } } });
  const newer = pa('newer', 'shop', 'PERMISSIVE', { selector: APP, created: '2024-01-01T00:00:00Z', portLevelMtls: { '9090': { mode: 'STRICT' } } });
  assert.deepEqual(portsOf([newer, older]).ports, { '8080': 'STRICT' });
});

test('peer_authentication_port_level_bad_port_rejects_the_policy_alone', () => {
  for (const key of ['0', '65536', 'http', '-1', '80.5']) {
    const r = portsOf([pa('ns', 'shop', 'STRICT'), pa('web', 'shop', 'PERMISSIVE', { selector: APP, portLevelMtls: { [key]: { mode: 'STRICT' } } })]);
    assert.equal(r.mode, 'STRICT', key);
    assert.equal(r.ports, undefined, key);
    assert.match(r.problems.join('\n'), new RegExp(`shop/web: spec\\.portLevelMtls\\[${JSON.stringify(key).replace(/[.]/g, '\\.')}\\]: .* is not a port number \\(1-65535\\); the policy is ignored`), key);
  }
});

test('peer_authentication_port_level_bad_mode_rejects_the_policy_alone', () => {
  const r = portsOf([pa('web', 'shop', 'STRICT', { selector: APP, portLevelMtls: { '8080': { mode: 'permissive' } } })]);
  assert.equal(r.mode, 'PERMISSIVE');
  assert.match(r.problems.join('\n'), /spec\.portLevelMtls\["8080"\]\.mode: "permissive" is not one of .* did you mean PERMISSIVE\?/);
});

test('peer_authentication_selector_in_root_namespace_is_ignored_and_reported', () => {
  const r = translate(
    cluster({ namespaces: [namespace('ambient-system')], pods: [pod('web', { ns: 'ambient-system', labels: APP })], peerAuthentications: [pa('web', 'ambient-system', 'STRICT', { selector: APP })] }),
    { trustDomain: TD },
  );
  assert.equal(mustWorkload(r, 'web', 'ambient-system').mtlsMode, 'PERMISSIVE');
  assert.match(problemsOf(r, 'PeerAuthentication', 'ambient-system/web')[0]?.message ?? '', /selector in the root namespace ambient-system is ignored, as Istio ignores it/);
});
