// Namespaced tests of the local cluster's network (DESIGN.md §5): a real 2-node cluster
// network in namespaces of its own, pods wired by the standard CNI plugins, Service VIPs
// in the nodes' iptables, isolation from the machine's real network, and teardown.
// Needs root: skipped without it, failed in CI (requireRoot).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connectInNetns, listenInNetns, netnsPath } from '../core/syscalls.js';
import { podNetworkAdd, podNetworkCheck, podNetworkDel, type PodNetwork } from '../local-cluster/network/cni.js';
import { conflistPath, ipamDir, nodeConflist } from '../local-cluster/network/cni-config.js';
import { isNetworkError, NetworkErrorCodes } from '../local-cluster/network/errors.js';
import { clusterNamespaces, createClusterNetwork, destroyClusterNetwork } from '../local-cluster/network/nodes.js';
import { applyServiceRules, installServiceJumps, listServiceChains } from '../local-cluster/network/service-proxy.js';
import { buildServiceRules, type Service } from '../local-cluster/network/service-rules.js';
import { buildTopology, isClusterNetns, nodeOf, podNetnsName } from '../local-cluster/network/topology.js';
import { output, requireRoot, run } from './support/netns.js';

const CLUSTER = `t${process.pid % 10000}`;
const ECHO_PORT = 8080;
const VIP = '10.96.0.10';
const EMPTY_VIP = '10.96.0.11';
const STEP_MS = 5_000;

function within<T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Connects from `netns`, reads the whole answer: "<responder> <client address as it saw it>". */
async function ask(netns: string, host: string, port = ECHO_PORT): Promise<{ responder: string; sawClient: string }> {
  const socket = await connectInNetns(netnsPath(netns), { host, port, timeoutMs: 3_000 });
  const chunks: Buffer[] = [];
  socket.on('data', (b: Buffer) => chunks.push(b));
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once('end', () => resolve());
      socket.once('error', reject);
    }),
    `an answer from ${host}:${port} in ${netns}`,
  ).finally(() => socket.destroy());
  const [responder = '', sawClient = ''] = Buffer.concat(chunks).toString().trim().split(' ');
  return { responder, sawClient };
}

/** The errno of a failed connectInNetns, and how long it took to fail. */
async function connectError(netns: string, host: string, port: number): Promise<{ code: string | undefined; ms: number }> {
  const started = Date.now();
  try {
    const s = await connectInNetns(netnsPath(netns), { host, port, timeoutMs: 3_000 });
    s.destroy();
    return { code: 'CONNECTED', ms: Date.now() - started };
  } catch (err) {
    const cause = (err as { cause?: NodeJS.ErrnoException }).cause;
    return { code: cause?.code ?? (err as Error).message, ms: Date.now() - started };
  }
}

// The host's network as a user would look at it; none of it may change.
async function hostSnapshot(): Promise<Record<string, string>> {
  const strip = (s: string) =>
    s
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .map((l) => l.replace(/\[\d+:\d+\]/g, ''))
      .join('\n');
  return {
    links: await output('ip', ['-o', 'link']),
    routes: await output('ip', ['route']),
    routes6: await output('ip', ['-6', 'route']),
    iptables: strip(await output('iptables-save', [])),
    forward: await output('sysctl', ['-n', 'net.ipv4.ip_forward']),
  };
}

test('local cluster network: 2 nodes, pods over CNI, Service VIPs, isolation, teardown', { timeout: 90_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const hostBefore = await hostSnapshot();
  const stateDir = await mkdtemp(join(tmpdir(), 'amb-network-'));
  const topology = buildTopology({ cluster: CLUSTER, nodes: 2 });
  const [node1, node2] = [nodeOf(topology, 1), nodeOf(topology, 2)];
  const req = { stateDir, topology };
  const servers: net.Server[] = [];
  const etcNetnsExisted = existsSync('/etc/netns');
  t.after(async () => {
    for (const s of servers) s.close();
    await destroyClusterNetwork(req).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    if (!etcNetnsExisted) await rmdir('/etc/netns').catch(() => undefined);
  });

  const pods: Record<'a1' | 'a2' | 'b1', PodNetwork> = {} as never;
  const uids = { a1: randomUUID(), a2: randomUUID(), b1: randomUUID() };
  const podReq = (name: keyof typeof uids, node: number) => ({ ...req, node, podUid: uids[name], podName: name, podNamespace: 'default' });

  const echo = async (t: TestContext, name: string, netns: string) => {
    const server = await listenInNetns(netnsPath(netns), { host: '0.0.0.0', port: ECHO_PORT }, (s) => {
      s.on('error', () => {});
      s.end(`${name} ${s.remoteAddress}\n`);
    });
    servers.push(server);
    t.after(() => server.close());
    return server;
  };

  await t.test('create_builds_the_switch_and_the_nodes', async () => {
    await createClusterNetwork(req);
    assert.deepEqual(await clusterNamespaces(CLUSTER), [node1.netns, node2.netns, topology.clusterNetns]);
    assert.match(await output('ip', ['-n', topology.clusterNetns, '-o', '-4', 'addr', 'show', 'dev', 'br0']), /inet 10\.243\.0\.1\/24 /);
    assert.match(await output('ip', ['-n', node2.netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']), /inet 10\.243\.0\.12\/24 /);
    assert.match(await output('ip', ['-n', topology.clusterNetns, '-o', 'link', 'show', 'node1']), /master br0 /);
    assert.equal(await output('sysctl', ['-n', 'net.ipv4.ip_forward'], { netns: node1.netns }), '1');
    assert.equal(await output('sysctl', ['-n', 'net.bridge.bridge-nf-call-iptables'], { netns: node1.netns }), '1');
    assert.equal(await output('sysctl', ['-n', 'net.ipv4.ip_forward'], { netns: topology.clusterNetns }), '0');
    const written = JSON.parse(await readFile(conflistPath(stateDir, 2), 'utf8'));
    assert.deepEqual(written, nodeConflist({ stateDir, topology, node: 2 }));
  });

  await t.test('nodes_reach_the_control_plane_address', async (t) => {
    await echo(t, 'control-plane', topology.clusterNetns);
    const r = await ask(node2.netns, '10.243.0.1');
    assert.deepEqual(r, { responder: 'control-plane', sawClient: '10.243.0.12' });
  });

  await t.test('pods_get_addresses_in_their_nodes_cidr_and_a_default_route_via_cni0', async () => {
    pods.a1 = await podNetworkAdd(podReq('a1', 1));
    pods.a2 = await podNetworkAdd(podReq('a2', 1));
    pods.b1 = await podNetworkAdd(podReq('b1', 2));
    for (const [name, pod, node] of [['a1', pods.a1, node1], ['a2', pods.a2, node1], ['b1', pods.b1, node2]] as const) {
      assert.equal(pod.netns, podNetnsName(CLUSTER, uids[name]));
      assert.ok(pod.ip.startsWith(node.podCidr.replace('0/24', '')), `${name} ${pod.ip} in ${node.podCidr}`);
      assert.notEqual(pod.ip, node.podGateway);
      assert.equal(pod.gateway, node.podGateway);
      assert.ok(pod.interfaces.some((i) => i.name === 'eth0' && i.sandbox === netnsPath(pod.netns)));
      assert.match(await output('ip', ['-n', pod.netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']), new RegExp(`inet ${pod.ip.replaceAll('.', '\\.')}/24 `));
      assert.equal(await output('ip', ['-n', pod.netns, 'route', 'show', 'default']), `default via ${node.podGateway} dev eth0 `.trim());
      assert.match(await output('ip', ['-n', pod.netns, '-o', 'link', 'show', 'lo']), /[<,]UP[,>]/);
    }
    assert.notEqual(pods.a1.ip, pods.a2.ip);
    assert.match(await output('ip', ['-n', node1.netns, '-o', '-4', 'addr', 'show', 'dev', 'cni0']), /inet 10\.244\.1\.1\/24 /);
  });

  await t.test('check_passes_for_an_intact_pod_and_fails_for_a_broken_one', async () => {
    await podNetworkCheck(podReq('a1', 1));
    const uid = randomUUID();
    const broken = await podNetworkAdd({ ...req, node: 2, podUid: uid, podName: 'c1' });
    await run('ip', ['-n', broken.netns, 'addr', 'flush', 'dev', 'eth0']);
    await assert.rejects(
      podNetworkCheck({ ...req, node: 2, podUid: uid }),
      (e: unknown) => isNetworkError(e, NetworkErrorCodes.CNI_FAILED) && /CNI plugin "bridge" CHECK failed/.test((e as Error).message),
    );
    await podNetworkDel({ ...req, node: 2, podUid: uid });
  });

  await t.test('adding_a_pod_twice_is_refused_clearly', async () => {
    await assert.rejects(podNetworkAdd(podReq('a1', 1)), (e: unknown) => isNetworkError(e, NetworkErrorCodes.POD_EXISTS));
  });

  await t.test('failed_add_names_the_plugin_and_leaves_nothing_behind', async () => {
    const cniPath = join(stateDir, 'fake-cni');
    await mkdir(cniPath, { recursive: true });
    await writeFile(join(cniPath, 'loopback'), '#!/bin/sh\nexec /usr/lib/cni/loopback\n');
    await writeFile(join(cniPath, 'bridge'), '#!/bin/sh\necho \'{"cniVersion":"1.0.0","code":7,"msg":"synthetic failure"}\'\nexit 1\n');
    await chmod(join(cniPath, 'loopback'), 0o755);
    await chmod(join(cniPath, 'bridge'), 0o755);
    const uid = randomUUID();
    await assert.rejects(
      podNetworkAdd({ ...req, node: 1, podUid: uid, podName: 'broken', cniPath }),
      (e: unknown) => isNetworkError(e, NetworkErrorCodes.CNI_FAILED) && /CNI plugin "bridge" ADD failed \(code 7\): synthetic failure/.test((e as Error).message),
    );
    assert.equal(existsSync(netnsPath(podNetnsName(CLUSTER, uid))), false);
  });

  await t.test('pods_talk_across_nodes_and_on_one_node_without_nat', async (t) => {
    await echo(t, 'b1', pods.b1.netns);
    await echo(t, 'a2', pods.a2.netns);
    assert.deepEqual(await ask(pods.a1.netns, pods.b1.ip), { responder: 'b1', sawClient: pods.a1.ip });
    assert.deepEqual(await ask(pods.a1.netns, pods.a2.ip), { responder: 'a2', sawClient: pods.a1.ip });
    assert.deepEqual(await ask(pods.b1.netns, pods.a2.ip), { responder: 'a2', sawClient: pods.b1.ip });
  });

  await t.test('pods_reach_the_control_plane_address', async (t) => {
    await echo(t, 'control-plane', topology.clusterNetns);
    assert.deepEqual(await ask(pods.b1.netns, '10.243.0.1'), { responder: 'control-plane', sawClient: pods.b1.ip });
  });

  await t.test('service_vip_spreads_over_endpoints_on_both_nodes', async (t) => {
    await echo(t, 'b1', pods.b1.netns);
    await echo(t, 'a2', pods.a2.netns);
    const services: Service[] = [
      {
        namespace: 'default',
        name: 'echo',
        clusterIP: VIP,
        ports: [{ name: 'tcp', port: 80, protocol: 'TCP', endpoints: [{ ip: pods.a2.ip, port: ECHO_PORT }, { ip: pods.b1.ip, port: ECHO_PORT }] }],
      },
      { namespace: 'default', name: 'empty', clusterIP: EMPTY_VIP, ports: [{ port: 80, protocol: 'TCP', endpoints: [] }] },
    ];
    const rules = buildServiceRules(services);
    for (const node of [node1, node2]) {
      await installServiceJumps(node.netns);
      await installServiceJumps(node.netns); // idempotent: one jump each
      await applyServiceRules(node.netns, rules.text);
      await applyServiceRules(node.netns, buildServiceRules(services, { previousChains: rules.chains }).text);
    }
    const nat = await output('iptables-save', ['-t', 'nat'], { netns: node1.netns });
    assert.equal(nat.split('\n').filter((l) => l === '-A PREROUTING -m comment --comment "amb service portals" -j AMB-SERVICES').length, 1);
    // What iptables holds reads back exactly as we wrote it.
    const written = rules.text.split('\n').filter((l) => l.startsWith('-A') && !l.includes('REJECT'));
    assert.deepEqual(nat.split('\n').filter((l) => l.startsWith('-A AMB-')).sort(), written.sort());

    // a1 shares node1 with endpoint a2: the reply from a2 is bridged, and only comes back
    // un-NATed because bridge-nf-call-iptables sends it through conntrack.
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const r = await ask(pods.a1.netns, VIP, 80);
      seen.set(r.responder, r.sawClient);
    }
    assert.deepEqual([...seen.keys()].sort(), ['a2', 'b1']);
    assert.equal(seen.get('a2'), pods.a1.ip, 'no SNAT pod to pod');
    assert.equal(seen.get('b1'), pods.a1.ip, 'no SNAT across nodes');

    // From a node process (nat OUTPUT) too.
    const fromNode = new Set<string>();
    for (let i = 0; i < 20; i++) fromNode.add((await ask(node2.netns, VIP, 80)).responder);
    assert.deepEqual([...fromNode].sort(), ['a2', 'b1']);

    // Hairpin: b1 through its own Service reaches itself, seen as from its node's gateway.
    const hairpin = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const r = await ask(pods.b1.netns, VIP, 80);
      hairpin.set(r.responder, r.sawClient);
    }
    assert.deepEqual([...hairpin.keys()].sort(), ['a2', 'b1']);
    assert.equal(hairpin.get('b1'), node2.podGateway, 'hairpin traffic is masqueraded');
    assert.equal(hairpin.get('a2'), pods.b1.ip);
  });

  await t.test('vip_without_endpoints_is_refused_at_once', async () => {
    for (const from of [pods.a1.netns, node1.netns]) {
      const r = await connectError(from, EMPTY_VIP, 80);
      assert.equal(r.code, 'ECONNREFUSED', `from ${from}`);
      assert.ok(r.ms < 1_000, `refused after ${r.ms} ms from ${from}`);
    }
  });

  await t.test('resync_without_the_service_deletes_its_chains', async () => {
    const before = await listServiceChains(node1.netns);
    assert.equal(before.length, 3); // one service port, two endpoints
    await applyServiceRules(node1.netns, buildServiceRules([], { previousChains: before }).text);
    assert.deepEqual(await listServiceChains(node1.netns), []);
    assert.doesNotMatch(await output('iptables-save', ['-t', 'filter'], { netns: node1.netns }), /REJECT/);
  });

  await t.test('nothing_routes_outside_the_cluster', async () => {
    for (const ns of [topology.clusterNetns, node1.netns, node2.netns]) {
      assert.equal(await output('ip', ['-n', ns, 'route', 'show', 'default']), '', `no default route in ${ns}`);
      await assert.rejects(run('ip', ['-n', ns, 'route', 'get', '1.1.1.1']), /unreachable/i, ns);
    }
    for (const ns of [pods.a1.netns, pods.b1.netns, node1.netns]) {
      const r = await connectError(ns, '1.1.1.1', 80);
      assert.ok(r.code === 'ENETUNREACH' || r.code === 'EHOSTUNREACH', `${ns}: ${r.code}`);
      assert.ok(r.ms < 1_000, `${ns}: failed after ${r.ms} ms`);
    }
  });

  await t.test('pod_network_del_releases_the_address_and_is_idempotent', async () => {
    const dir = join(ipamDir(stateDir, 1), `amb-${CLUSTER}`);
    const holder = async (ip: string) => (existsSync(join(dir, ip)) ? (await readFile(join(dir, ip), 'utf8')).split(/\r?\n/)[0] : undefined);
    assert.equal(await holder(pods.a2.ip), uids.a2);
    await podNetworkDel(podReq('a2', 1));
    assert.equal(existsSync(netnsPath(pods.a2.netns)), false);
    assert.equal(await holder(pods.a2.ip), undefined);
    for (const f of await readdir(dir)) {
      if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) assert.notEqual(await holder(f), uids.a2, `${f} still held by the deleted pod`);
    }
    await podNetworkDel(podReq('a2', 1)); // again: fine
    const a3 = randomUUID();
    const again = await podNetworkAdd({ ...req, node: 1, podUid: a3, podName: 'a3' });
    assert.ok(again.ip.startsWith('10.244.1.'), again.ip);
    assert.equal(await holder(again.ip), a3);
  });

  await t.test('destroy_removes_every_namespace_and_file_and_can_run_twice', async () => {
    // The runtime writes /etc/netns/<pod>/hosts (mounted over /etc/hosts by ip netns exec).
    await mkdir(join('/etc/netns', pods.b1.netns), { recursive: true });
    await writeFile(join('/etc/netns', pods.b1.netns, 'hosts'), '127.0.0.1 localhost\n');
    for (const s of servers) s.close();
    await destroyClusterNetwork(req);
    const left = (await output('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => isClusterNetns(CLUSTER, n));
    assert.deepEqual(left, []);
    const etc = existsSync('/etc/netns') ? await readdir('/etc/netns') : [];
    assert.deepEqual(etc.filter((n) => isClusterNetns(CLUSTER, n)), []);
    assert.equal(existsSync(join(stateDir, 'cni')), false);
    assert.equal(existsSync(join(stateDir, 'ipam')), false);
    await destroyClusterNetwork(req);
  });

  await t.test('create_replaces_a_leftover_cluster_and_the_host_is_unchanged', async () => {
    // A crashed `up` left a node namespace behind, and an address claimed for a pod that
    // no longer exists.
    await run('ip', ['netns', 'add', node1.netns]);
    const staleClaim = join(ipamDir(stateDir, 1), `amb-${CLUSTER}`, '10.244.1.99');
    await mkdir(join(staleClaim, '..'), { recursive: true });
    await writeFile(staleClaim, 'gone-pod\r\neth0');
    await createClusterNetwork(req);
    assert.deepEqual(await clusterNamespaces(CLUSTER), [node1.netns, node2.netns, topology.clusterNetns]);
    assert.equal(existsSync(staleClaim), false);
    await destroyClusterNetwork(req);
    assert.deepEqual(await clusterNamespaces(CLUSTER), []);
    assert.deepEqual(await hostSnapshot(), hostBefore);
  });
});

test('local cluster network, dual-stack: pods get an IPv6 address from their node /64, talk across nodes over IPv6, and IPv6 cannot leave', { timeout: 90_000 }, async (t) => {
  if (!requireRoot(t)) return;
  const hostBefore = await hostSnapshot();
  const stateDir = await mkdtemp(join(tmpdir(), 'amb-network6-'));
  const topology = buildTopology({ cluster: `d${process.pid % 10000}`, nodes: 2, dualStack: true });
  const req = { stateDir, topology };
  const servers: net.Server[] = [];
  const etcNetnsExisted = existsSync('/etc/netns');
  t.after(async () => {
    for (const s of servers) s.close();
    await destroyClusterNetwork(req).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
    if (!etcNetnsExisted) await rmdir('/etc/netns').catch(() => undefined);
  });
  await createClusterNetwork(req);
  const node1 = nodeOf(topology, 1);
  assert.match(await output('ip', ['-n', node1.netns, '-o', '-6', 'addr', 'show', 'dev', 'eth0']), /inet6 fd00:10:243::11\/64 /);
  assert.equal(await output('sysctl', ['-n', 'net.ipv6.conf.all.forwarding'], { netns: node1.netns }), '1');

  const a = await podNetworkAdd({ ...req, node: 1, podUid: randomUUID(), podName: 'a', podNamespace: 'default' });
  const b = await podNetworkAdd({ ...req, node: 2, podUid: randomUUID(), podName: 'b', podNamespace: 'default' });
  assert.equal(a.ips.length, 2, JSON.stringify(a.ips));
  assert.equal(a.ips[0], a.ip, 'IPv4 is the primary address');
  assert.match(a.ips[1]!, /^fd00:10:244:1::[0-9a-f]+$/);
  assert.match(b.ips[1]!, /^fd00:10:244:2::[0-9a-f]+$/);

  const server = await listenInNetns(netnsPath(b.netns), { host: '::', port: ECHO_PORT }, (s) => {
    s.on('error', () => {});
    s.end(`b ${s.remoteAddress}\n`);
  });
  servers.push(server);
  const socket = await connectInNetns(netnsPath(a.netns), { host: b.ips[1]!, port: ECHO_PORT, timeoutMs: 3_000 });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await within(new Promise<void>((resolve, reject) => socket.once('end', resolve).once('error', reject)), 'the IPv6 answer').finally(() => socket.destroy());
  assert.equal(Buffer.concat(chunks).toString().trim(), `b ${a.ips[1]}`, 'across nodes over IPv6, without NAT');

  // No IPv6 route out of the cluster: an outside address fails at once, at the node.
  const out = await connectError(a.netns, '2001:db8::1', 80);
  assert.notEqual(out.code, 'CONNECTED');
  assert.ok(out.ms < 2_500, `failed in ${out.ms} ms (${out.code})`);

  await destroyClusterNetwork(req);
  assert.deepEqual(await hostSnapshot(), hostBefore);
});
