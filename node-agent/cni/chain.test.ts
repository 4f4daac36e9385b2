import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planChain, primaryConfigName } from './chain.js';

const DIR = '/etc/cni/net.d';
const SOCK = '/var/lib/ambient/cni/cni.sock';
const calico = { cniVersion: '1.0.0', name: 'k8s-pod-network', plugins: [{ type: 'calico' }, { type: 'portmap' }] };
const chained = { ...calico, plugins: [...calico.plugins, { type: 'ambient-cni', agentSocket: SOCK }] };
const file = (name: string, v: unknown) => ({ name, text: typeof v === 'string' ? v : JSON.stringify(v) });

test('chain_writes_our_entry_last_into_the_primary_conflist', () => {
  const plan = planChain(DIR, [file('10-calico.conflist', calico)], SOCK);
  assert.equal(plan.kind, 'write');
  assert.ok(plan.kind === 'write');
  assert.equal(plan.conflist, '/etc/cni/net.d/10-calico.conflist');
  assert.equal(plan.why, 'entry-missing');
  assert.deepEqual(JSON.parse(plan.text), chained);
});

test('chain_primary_rewritten_without_our_entry_is_written_again', () => {
  // Another CNI rewrote its file (an upgrade, a config change): our entry is gone.
  const plan = planChain(DIR, [file('10-calico.conflist', { ...calico, plugins: [{ type: 'calico', mtu: 1400 }, { type: 'portmap' }] })], SOCK);
  assert.ok(plan.kind === 'write');
  assert.deepEqual(JSON.parse(plan.text).plugins.map((p: { type: string }) => p.type), ['calico', 'portmap', 'ambient-cni']);
  assert.equal(JSON.parse(plan.text).plugins[0].mtu, 1400, "the other plugin's change is kept");
});

test('chain_already_there_writes_nothing', () => {
  assert.deepEqual(planChain(DIR, [file('10-calico.conflist', chained)], SOCK), { kind: 'chained', conflist: '/etc/cni/net.d/10-calico.conflist' });
});

test('chain_a_new_lower_named_conflist_becomes_the_primary_and_is_chained', () => {
  const cilium = { cniVersion: '1.0.0', name: 'cilium', plugins: [{ type: 'cilium-cni' }] };
  const plan = planChain(DIR, [file('10-calico.conflist', chained), file('05-cilium.conflist', cilium)], SOCK);
  assert.ok(plan.kind === 'write');
  assert.equal(plan.conflist, '/etc/cni/net.d/05-cilium.conflist');
  assert.deepEqual(JSON.parse(plan.text).plugins.map((p: { type: string }) => p.type), ['cilium-cni', 'ambient-cni']);
});

test('chain_entry_with_another_socket_or_not_last_is_rewritten', () => {
  const other = { ...calico, plugins: [...calico.plugins, { type: 'ambient-cni', agentSocket: '/elsewhere/cni.sock' }] };
  const p1 = planChain(DIR, [file('10-calico.conflist', other)], SOCK);
  assert.ok(p1.kind === 'write');
  assert.equal(p1.why, 'entry-outdated');
  assert.deepEqual(JSON.parse(p1.text), chained);
  const notLast = { ...calico, plugins: [{ type: 'ambient-cni', agentSocket: SOCK }, ...calico.plugins] };
  const p2 = planChain(DIR, [file('10-calico.conflist', notLast)], SOCK);
  assert.ok(p2.kind === 'write');
  assert.deepEqual(JSON.parse(p2.text), chained, 'exactly one entry, at the end');
});

test('chain_a_single_plugin_conf_first_is_a_clear_error', () => {
  const plan = planChain(DIR, [file('10-calico.conflist', calico), file('05-flannel.conf', { cniVersion: '0.3.1', name: 'cbr0', type: 'flannel' })], SOCK);
  assert.equal(plan.kind, 'error');
  assert.ok(plan.kind === 'error');
  assert.match(plan.message, /\/etc\/cni\/net\.d\/05-flannel\.conf is the first CNI configuration .* not a \.conflist/);
});

test('chain_conf_dir_missing_is_an_error_naming_it', () => {
  const plan = planChain(DIR, undefined, SOCK);
  assert.ok(plan.kind === 'error');
  assert.match(plan.message, /\/etc\/cni\/net\.d does not exist/);
});

test('chain_empty_conf_dir_waits_for_the_network_plugin', () => {
  const plan = planChain(DIR, [], SOCK);
  assert.ok(plan.kind === 'error');
  assert.match(plan.message, /no CNI configuration in \/etc\/cni\/net\.d/);
});

test('chain_malformed_json_is_an_error_and_no_write', () => {
  // A half-written file of another plugin: looked at again at its next change.
  const plan = planChain(DIR, [file('10-calico.conflist', '{"cniVersion": "1.0.0", "plugins": [')], SOCK);
  assert.ok(plan.kind === 'error');
  assert.match(plan.message, /cannot read \/etc\/cni\/net\.d\/10-calico\.conflist as JSON/);
});

test('chain_json_without_plugins_is_an_error', () => {
  const plan = planChain(DIR, [file('10-x.conflist', { cniVersion: '1.0.0', name: 'x' })], SOCK);
  assert.ok(plan.kind === 'error');
  assert.match(plan.message, /10-x\.conflist is not a CNI conflist: it has no "plugins" array/);
});

test('chain_refuses_an_abstract_agent_socket', () => {
  const plan = planChain(DIR, [file('10-calico.conflist', calico)], '@ambient');
  assert.ok(plan.kind === 'error');
  assert.match(plan.message, /abstract socket/);
});

test('primary_is_the_first_config_file_by_name_ignoring_temporary_files', () => {
  assert.equal(primaryConfigName(['20-b.conflist', '10-a.conflist.1234.tmp', '10-b.json', 'README']), '10-b.json');
  assert.equal(primaryConfigName(['README', 'x.tmp']), undefined);
});
