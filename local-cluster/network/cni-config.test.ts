import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  AMBIENT_CNI_BUILD_DIR,
  cniArgs,
  conflistPath,
  containerId,
  ipamDir,
  nodeCniBinDir,
  nodeCniConfDir,
  nodeCniPath,
  nodeConflist,
  parseConflist,
  parsePluginOutput,
  pluginEnv,
  pluginErrorMessage,
  pluginOrder,
  pluginStdin,
  podAddressFromResult,
  podIpsFromResult,
  resultCachePath,
  type CniResult,
} from './cni-config.js';
import { isNetworkError } from './errors.js';
import { buildTopology } from './topology.js';

const topology = buildTopology({ cluster: 'c1', nodes: 3 });
const conflist = nodeConflist({ stateDir: '/var/lib/amb/c1', topology, node: 2 });
const bridge = conflist.plugins[1]!;
const ipam = bridge.ipam as Record<string, unknown>;

test('conflist_is_loopback_then_bridge_without_ambient_cni_the_agent_chains_it', () => {
  assert.deepEqual(
    conflist.plugins.map((p) => p.type),
    ['loopback', 'bridge'],
  );
  assert.equal(conflist.cniVersion, '1.0.0');
  assert.equal(conflist.name, 'amb-c1');
});

test('conflist_bridge_is_cni0_gateway_without_masquerade_with_hairpin', () => {
  assert.equal(bridge.bridge, 'cni0');
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.equal(bridge.hairpinMode, true);
});

test('each_node_has_its_own_cni_bin_and_conf_dirs_under_the_state_dir', () => {
  assert.equal(nodeCniBinDir('/s', 'node2'), '/s/nodes/node2/opt/cni/bin');
  assert.equal(nodeCniConfDir('/s', 'node2'), '/s/nodes/node2/etc/cni/net.d');
  assert.notEqual(nodeCniConfDir('/s', 'node1'), nodeCniConfDir('/s', 'node2'));
});

test('node_cni_path_searches_debians_plugins_then_the_nodes_bin_dir', () => {
  assert.equal(nodeCniPath('/s', 'node2'), '/usr/lib/cni:/s/nodes/node2/opt/cni/bin');
});

test('parse_conflist_names_the_file_and_what_is_wrong', () => {
  assert.deepEqual(parseConflist('/x', JSON.stringify(conflist)), conflist);
  assert.throws(() => parseConflist('/e/10.conflist', '{"plugins": ['), (e: unknown) => isNetworkError(e) && /\/e\/10\.conflist is not JSON/.test((e as Error).message));
  assert.throws(() => parseConflist('/e/10.conflist', '{"name":"n","cniVersion":"1.0.0"}'), (e: unknown) => isNetworkError(e) && /plugins/.test((e as Error).message));
  assert.throws(() => parseConflist('/e/10.conflist', '{"name":"n","cniVersion":"1.0.0","plugins":[{}]}'), (e: unknown) => isNetworkError(e) && /plugins\[0\] has no "type"/.test((e as Error).message));
});

test('conflist_ipam_is_host_local_on_the_nodes_pod_cidr', () => {
  assert.equal(ipam.type, 'host-local');
  assert.deepEqual(ipam.ranges, [[{ subnet: '10.244.2.0/24', gateway: '10.244.2.1' }]]);
});

test('conflist_default_route_points_at_the_node', () => {
  assert.deepEqual(ipam.routes, [{ dst: '0.0.0.0/0' }]);
});

test('conflist_ipam_data_dir_is_under_the_state_dir_per_node', () => {
  assert.equal(ipam.dataDir, '/var/lib/amb/c1/ipam/node2');
  assert.equal(ipamDir('/var/lib/amb/c1', 2), '/var/lib/amb/c1/ipam/node2');
});

test('conflist_path_is_the_nodes_primary_conflist', () => {
  assert.equal(conflistPath('/s', 3), '/s/nodes/node3/etc/cni/net.d/10-bridge.conflist');
  assert.equal(resultCachePath('/s', 'amb-c1', 'abc'), '/s/cni/results/amb-c1-abc-eth0.json');
});

test('conflist_for_a_missing_node_is_rejected', () => {
  assert.throws(() => nodeConflist({ stateDir: '/s', topology, node: 4 }), isNetworkError);
});

test('plugin_stdin_injects_name_and_version', () => {
  const conf = pluginStdin(conflist, bridge);
  assert.equal(conf.name, 'amb-c1');
  assert.equal(conf.cniVersion, '1.0.0');
  assert.equal(conf.type, 'bridge');
  assert.equal('prevResult' in conf, false);
});

test('plugin_stdin_carries_prev_result', () => {
  const prev: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'lo' }] };
  assert.deepEqual(pluginStdin(conflist, bridge, prev).prevResult, prev);
});

test('plugin_stdin_does_not_alter_the_conflist', () => {
  pluginStdin(conflist, bridge, { cniVersion: '1.0.0' });
  assert.equal('prevResult' in bridge, false);
  assert.equal('name' in bridge, false);
});

test('plugins_run_in_order_for_add_and_check_and_reversed_for_del', () => {
  const chained = { ...conflist, plugins: [...conflist.plugins, { type: 'ambient-cni' }] };
  assert.deepEqual(pluginOrder(chained, 'ADD').map((p) => p.type), ['loopback', 'bridge', 'ambient-cni']);
  assert.deepEqual(pluginOrder(chained, 'CHECK').map((p) => p.type), ['loopback', 'bridge', 'ambient-cni']);
  assert.deepEqual(pluginOrder(chained, 'DEL').map((p) => p.type), ['ambient-cni', 'bridge', 'loopback']);
  assert.deepEqual(chained.plugins.map((p) => p.type), ['loopback', 'bridge', 'ambient-cni']);
});

test('cni_args_are_kubelets_with_ignore_unknown_first', () => {
  assert.equal(
    cniArgs({ podUid: 'u-1', podName: 'web-1', podNamespace: 'default' }),
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-1;K8S_POD_UID=u-1',
  );
  assert.equal(cniArgs({ podUid: 'u-1' }), 'IgnoreUnknown=1;K8S_POD_UID=u-1');
});

test('cni_args_reject_separators_in_values', () => {
  assert.throws(() => cniArgs({ podUid: 'u', podName: 'a;b' }), isNetworkError);
  assert.throws(() => cniArgs({ podUid: 'u', podNamespace: 'a=b' }), isNetworkError);
});

test('container_id_is_the_lowercased_uid', () => {
  assert.equal(containerId('0A1B-2C'), '0a1b-2c');
  assert.throws(() => containerId('-x'), isNetworkError);
  assert.throws(() => containerId('a/b'), isNetworkError);
});

test('plugin_env_has_the_cni_variables_and_a_path_only', () => {
  const env = pluginEnv({ command: 'ADD', containerId: 'c', netnsPath: '/var/run/netns/p', cniArgs: 'IgnoreUnknown=1' });
  assert.deepEqual(Object.keys(env).sort(), ['CNI_ARGS', 'CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_NETNS', 'CNI_PATH', 'PATH']);
  assert.equal(env.CNI_IFNAME, 'eth0');
  assert.equal(env.CNI_PATH, '/usr/lib/cni', "without a node's CNI_PATH: Debian's plugins");
  assert.equal(env.CNI_NETNS, '/var/run/netns/p');
});

test('the_plugin_is_built_next_to_its_source', () => {
  assert.match(AMBIENT_CNI_BUILD_DIR, /\/node-agent\/cni\/build$/);
  assert.equal(existsSync(join(AMBIENT_CNI_BUILD_DIR, '..', 'plugin.c')), true, 'the build dir is next to plugin.c in the repository');
});

test('plugin_error_json_is_read_from_stdout', () => {
  const out = parsePluginOutput('ADD', { code: 1 }, '{"cniVersion":"1.0.0","code":11,"msg":"failed to allocate","details":"range full"}', '');
  assert.deepEqual(out, { ok: false, code: 11, msg: 'failed to allocate', details: 'range full' });
});

test('plugin_dying_without_json_fails_with_its_stderr', () => {
  const out = parsePluginOutput('DEL', { code: 2 }, '', 'panic: boom\n');
  assert.equal(out.ok, false);
  assert.match(!out.ok ? out.msg : '', /exit 2: panic: boom/);
});

test('plugin_killed_by_signal_says_so', () => {
  const out = parsePluginOutput('ADD', { code: null, signal: 'SIGKILL' }, '', '');
  assert.match(!out.ok ? out.msg : '', /killed by SIGKILL/);
});

test('add_without_result_json_is_a_failure', () => {
  assert.equal(parsePluginOutput('ADD', { code: 0 }, '', '').ok, false);
  assert.equal(parsePluginOutput('ADD', { code: 0 }, 'not json', '').ok, false);
});

test('del_with_empty_output_succeeds', () => {
  assert.deepEqual(parsePluginOutput('DEL', { code: 0 }, '', ''), { ok: true, result: undefined });
});

test('add_result_is_returned', () => {
  const out = parsePluginOutput('ADD', { code: 0 }, '{"cniVersion":"1.0.0","ips":[]}', '');
  assert.deepEqual(out, { ok: true, result: { cniVersion: '1.0.0', ips: [] } });
});

const bridgeResult: CniResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0', mac: 'a' }, { name: 'veth1', mac: 'b' }, { name: 'eth0', mac: 'c', sandbox: '/var/run/netns/p' }],
  ips: [{ interface: 2, address: '10.244.2.5/24', gateway: '10.244.2.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
};

test('pod_address_comes_from_the_sandbox_eth0', () => {
  assert.deepEqual(podAddressFromResult(bridgeResult), { ip: '10.244.2.5', prefixLength: 24, gateway: '10.244.2.1' });
});

test('pod_address_ignores_loopback_addresses', () => {
  const lo: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'lo', sandbox: '/p' }], ips: [{ interface: 0, address: '127.0.0.1/8' }] };
  assert.throws(() => podAddressFromResult(lo), (e: unknown) => isNetworkError(e) && /no IPv4 address for eth0/.test((e as Error).message));
});

test('plugin_error_message_names_plugin_command_code_and_message', () => {
  assert.equal(
    pluginErrorMessage('bridge', 'ADD', { code: 11, msg: 'failed to allocate', details: 'range full' }),
    'CNI plugin "bridge" ADD failed (code 11): failed to allocate: range full',
  );
});

test('dual_stack_conflist_adds_the_nodes_ipv6_range_and_default_route', () => {
  const t6 = buildTopology({ cluster: 'c1', nodes: 3, dualStack: true });
  const ipam6 = (nodeConflist({ stateDir: '/var/lib/amb/c1', topology: t6, node: 2 }).plugins[1]!.ipam ?? {}) as Record<string, unknown>;
  assert.deepEqual(ipam6.ranges, [[{ subnet: '10.244.2.0/24', gateway: '10.244.2.1' }], [{ subnet: 'fd00:10:244:2::/64', gateway: 'fd00:10:244:2::1' }]]);
  assert.deepEqual(ipam6.routes, [{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  assert.equal((ipam.ranges as unknown[]).length, 1, 'single-stack keeps one range');
});

test('pod_ips_from_a_result_are_the_pods_own_ipv4_first', () => {
  const result: CniResult = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/var/run/netns/p' }],
    ips: [
      { address: 'fd00:10:244:2::5/64', gateway: 'fd00:10:244:2::1', interface: 2 },
      { address: '10.244.2.5/24', gateway: '10.244.2.1', interface: 2 },
      { address: '10.244.2.1/24', interface: 0 },
    ],
  };
  assert.deepEqual(podIpsFromResult(result), ['10.244.2.5', 'fd00:10:244:2::5']);
});
