import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isMeshError } from '../../core/errors.js';
import { hasAmbientPlugin, withAmbientPlugin, withoutAmbientPlugin } from './conflist.js';
import { handoffReply, judgePeer, parseCniArgs, parseHandoffRequest, type CniPod } from './handoff.js';

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/var/run/netns/p' }],
  ips: [{ interface: 2, address: '10.244.1.5/24', gateway: '10.244.1.1' }, { interface: 2, address: 'fd00::5/64' }],
};

function request(over: Record<string, unknown> = {}, config: Record<string, unknown> = { cniVersion: '1.0.0', name: 'k8s', type: 'ambient-cni', prevResult }): string {
  return JSON.stringify({
    command: 'ADD',
    containerId: 'c1',
    netns: '/var/run/netns/p',
    ifName: 'eth0',
    args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_UID=u-1',
    config,
    ...over,
  });
}

const isInvalid = (re: RegExp) => (e: unknown) => isMeshError(e, ErrorCodes.CNI_HANDOFF_INVALID) && re.test((e as Error).message);

test('add_request_gives_the_pod_its_netns_and_addresses_without_prefix', () => {
  const pod = parseHandoffRequest(request());
  assert.deepEqual(pod, {
    command: 'ADD',
    containerId: 'c1',
    netnsPath: '/var/run/netns/p',
    ifName: 'eth0',
    podUid: 'u-1',
    podName: 'web-1',
    podNamespace: 'default',
    ips: ['10.244.1.5', 'fd00::5'],
    cniVersion: '1.0.0',
    prevResult,
  });
});

test('add_without_prev_result_has_no_addresses', () => {
  const pod = parseHandoffRequest(request({}, { cniVersion: '0.4.0', name: 'k8s' }));
  assert.deepEqual(pod.ips, []);
  assert.equal(pod.prevResult, undefined);
  assert.equal(pod.cniVersion, '0.4.0');
});

test('del_may_come_without_netns_as_the_spec_allows', () => {
  const pod = parseHandoffRequest(request({ command: 'DEL', netns: '' }));
  assert.equal(pod.command, 'DEL');
  assert.equal(pod.netnsPath, '');
  assert.throws(() => parseHandoffRequest(request({ command: 'ADD', netns: '' })), isInvalid(/"netns"/));
  assert.throws(() => parseHandoffRequest(request({ command: 'CHECK', netns: undefined })), isInvalid(/"netns"/));
});

test('pod_identity_is_absent_when_cni_args_lack_it', () => {
  const pod = parseHandoffRequest(request({ args: '' }));
  assert.equal(pod.podUid, undefined);
  assert.equal(pod.podName, undefined);
  assert.equal(pod.podNamespace, undefined);
});

test('malformed_requests_are_refused_with_the_reason', () => {
  assert.throws(() => parseHandoffRequest('not json'), isInvalid(/not JSON/));
  assert.throws(() => parseHandoffRequest('[1]'), isInvalid(/not a JSON object/));
  assert.throws(() => parseHandoffRequest(request({ command: 'VERSION' })), isInvalid(/unknown command "VERSION"/));
  assert.throws(() => parseHandoffRequest(request({ containerId: '' })), isInvalid(/"containerId"/));
  assert.throws(() => parseHandoffRequest(request({ ifName: 7 })), isInvalid(/"ifName"/));
  assert.throws(() => parseHandoffRequest(request({ config: 'x' })), isInvalid(/"config"/));
  assert.throws(() => parseHandoffRequest(request({}, { name: 'k8s' })), isInvalid(/cniVersion/));
  assert.throws(() => parseHandoffRequest(request({}, { cniVersion: '1.0.0', prevResult: [] })), isInvalid(/prevResult/));
  assert.throws(() => parseHandoffRequest(request({ args: 'K8S_POD_UID' })), isInvalid(/KEY=VALUE/));
});

test('cni_args_are_key_value_pairs_separated_by_semicolons', () => {
  assert.deepEqual(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=web-1;EMPTY='), { IgnoreUnknown: '1', K8S_POD_NAME: 'web-1', EMPTY: '' });
  assert.deepEqual(parseCniArgs(''), {});
  assert.deepEqual(parseCniArgs('A=b=c;;'), { A: 'b=c' });
  assert.throws(() => parseCniArgs('=x'), isInvalid(/KEY=VALUE/));
});

test('add_reply_passes_prev_result_through', () => {
  const pod = parseHandoffRequest(request());
  const reply = handoffReply(pod, { ok: true });
  assert.ok(reply.startsWith('OK\n'));
  assert.deepEqual(JSON.parse(reply.slice(3)), prevResult);
});

test('add_reply_without_prev_result_is_a_bare_result_of_the_configs_version', () => {
  const pod = parseHandoffRequest(request({}, { cniVersion: '0.4.0' }));
  assert.equal(handoffReply(pod, { ok: true }), 'OK\n{"cniVersion":"0.4.0"}\n');
});

test('del_and_check_replies_print_nothing', () => {
  for (const command of ['DEL', 'CHECK'] as const) {
    assert.equal(handoffReply(parseHandoffRequest(request({ command })), { ok: true }), 'OK\n');
  }
});

test('failure_reply_is_a_cni_error_with_code_999', () => {
  const pod: CniPod = parseHandoffRequest(request());
  const reply = handoffReply(pod, { ok: false, message: 'capture failed', details: 'iptables-restore: line 3' });
  assert.ok(reply.startsWith('ERR\n'));
  assert.deepEqual(JSON.parse(reply.slice(4)), { cniVersion: '1.0.0', code: 999, msg: 'capture failed', details: 'iptables-restore: line 3' });
  assert.deepEqual(JSON.parse(handoffReply(pod, { ok: false, message: 'x' }).slice(4)), { cniVersion: '1.0.0', code: 999, msg: 'x' });
});

const calico = {
  cniVersion: '1.0.0',
  name: 'k8s-pod-network',
  plugins: [{ type: 'calico', ipam: { type: 'calico-ipam' } }, { type: 'portmap', capabilities: { portMappings: true } }],
};

test('conflist_gets_ambient_cni_appended_once', () => {
  const once = withAmbientPlugin(calico);
  assert.deepEqual(once, { ...calico, plugins: [...calico.plugins, { type: 'ambient-cni', agentSocket: '/var/lib/ambient/cni/cni.sock' }] });
  assert.deepEqual(withAmbientPlugin(once), once);
  assert.equal(calico.plugins.length, 2, 'the input is not modified');
});

test('conflist_with_another_socket_is_updated_not_duplicated', () => {
  const updated = withAmbientPlugin(withAmbientPlugin(calico), { agentSocket: '/var/run/ambient/cni.sock' }) as typeof calico;
  assert.deepEqual(updated.plugins.slice(2), [{ type: 'ambient-cni', agentSocket: '/var/run/ambient/cni.sock' }]);
  assert.equal(updated.plugins.length, 3);
});

test('conflist_removal_restores_the_original_and_is_idempotent', () => {
  assert.deepEqual(withoutAmbientPlugin(withAmbientPlugin(calico)), calico);
  assert.deepEqual(withoutAmbientPlugin(calico), calico);
  assert.equal(hasAmbientPlugin(withAmbientPlugin(calico)), true);
  assert.equal(hasAmbientPlugin(calico), false);
});

test('conflist_refuses_an_abstract_or_relative_agent_socket', () => {
  const isInstall = (re: RegExp) => (e: unknown) => isMeshError(e, ErrorCodes.CNI_INSTALL_FAILED) && re.test((e as Error).message);
  assert.throws(() => withAmbientPlugin(calico, { agentSocket: '@ambient-cni' }), isInstall(/abstract socket name/));
  assert.throws(() => withAmbientPlugin(calico, { agentSocket: 'run/cni.sock' }), isInstall(/not an absolute path/));
  assert.throws(() => withAmbientPlugin(calico, { agentSocket: `/${'x'.repeat(120)}` }), isInstall(/longer than 107 bytes/));
});

test('peer_other_than_root_is_refused', () => {
  assert.equal(judgePeer({ pid: 10, uid: 0, gid: 0 }), undefined);
  assert.match(judgePeer({ pid: 10, uid: 65534, gid: 65534 })!, /uid 65534, not root/);
  assert.match(judgePeer({ pid: 10, uid: 1000, gid: 0 })!, /not root/, 'group root is not enough');
  assert.match(judgePeer(undefined)!, /SO_PEERCRED/);
});

test('a_conflist_without_plugins_is_refused', () => {
  const isInstall = (e: unknown) => isMeshError(e, ErrorCodes.CNI_INSTALL_FAILED);
  assert.throws(() => withAmbientPlugin({ cniVersion: '1.0.0', type: 'bridge' }), isInstall);
  assert.throws(() => withoutAmbientPlugin([]), isInstall);
});
