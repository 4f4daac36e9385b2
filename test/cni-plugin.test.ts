// The CNI plugin (direct tier): the built C binary run as a container runtime runs it
// (CNI_* environment, config on stdin, result on stdout), against the agent's real
// hand-off server on its root-only filesystem socket, with the agent away (fail closed)
// and with the mesh not installed (the only pass-through). The attack tests play a
// non-root process, a forger with root's socket but another netns, a flood, and a
// squatter, in network namespaces the test creates.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, isMeshError } from '../core/errors.js';
import { startHandoffServer, type CniPod, type HandoffServer } from '../node-agent/cni/handoff.js';
import { installCniPlugin, uninstallCniPlugin } from '../node-agent/cni/install.js';

const PLUGIN = fileURLToPath(new URL('../../node-agent/cni/build/ambient-cni', import.meta.url));

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cni0', mac: '0a:58:0a:f4:01:01' }, { name: 'veth1234', mac: 'aa:bb' }, { name: 'eth0', mac: 'cc:dd', sandbox: '/var/run/netns/pod-1' }],
  ips: [{ interface: 2, address: '10.244.1.7/24', gateway: '10.244.1.1' }],
  routes: [{ dst: '0.0.0.0/0' }],
  dns: {},
};

function conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: '1.0.0', name: 'k8s-pod-network', type: 'ambient-cni', ...extra };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runPlugin(command: string, stdin: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(PLUGIN, [], {
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: 'c0ffee',
        CNI_NETNS: '/var/run/netns/pod-1',
        CNI_IFNAME: 'eth0',
        CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9f;K8S_POD_UID=0b1c-uid',
        CNI_PATH: '/opt/cni/bin',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the plugin may exit before reading everything
    child.stdin.end(stdin);
  });
}

let dir: string;
before(async () => {
  try {
    await access(PLUGIN);
  } catch {
    assert.fail(`${PLUGIN} is missing: build it with \`npm run build:cni\``);
  }
  dir = await mkdtemp(join(tmpdir(), 'amb-cni-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Recorder {
  adds: CniPod[];
  dels: CniPod[];
  failWith?: string;
}

async function server(socket: string, rec: Recorder): Promise<HandoffServer> {
  return startHandoffServer({
    socket,
    onAdd: async (pod) => {
      rec.adds.push(pod);
      if (rec.failWith) throw new Error(rec.failWith);
    },
    onDel: async (pod) => {
      rec.dels.push(pod);
    },
  });
}

/** A fresh socket path in a fresh root-only directory (the agent makes it 0700). */
const sockPath = () => join(dir, `s-${randomBytes(4).toString('hex')}`, 'cni.sock');

test('version_is_answered_without_an_agent', async () => {
  const r = await runPlugin('VERSION', '{"cniVersion":"1.0.0"}', { CNI_CONTAINERID: '', CNI_NETNS: '' });
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
});

test('add_passes_the_pod_through_only_when_the_mesh_is_not_installed', async () => {
  // No socket directory: no agent has ever run here, or the mesh was removed and the
  // chain left behind.
  const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: join(dir, 'not-installed', 'cni.sock'), prevResult })));
  assert.equal(r.code, 0, r.stdout);
  assert.deepEqual(JSON.parse(r.stdout), prevResult);
});

test('add_with_the_mesh_not_installed_and_no_prev_result_prints_a_bare_result', async () => {
  const r = await runPlugin('ADD', JSON.stringify(conf({ cniVersion: '0.4.0', agentSocket: join(dir, 'not-installed', 'cni.sock') })));
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '0.4.0' });
});

test('del_and_check_with_the_mesh_not_installed_succeed_silently', async () => {
  for (const command of ['DEL', 'CHECK']) {
    const r = await runPlugin(command, JSON.stringify(conf({ agentSocket: join(dir, 'not-installed', 'cni.sock'), prevResult })));
    assert.deepEqual([r.code, r.stdout], [0, ''], command);
  }
});

/** A socket directory as the agent leaves it: 0700, root's. */
async function installedDir(name: string): Promise<string> {
  const d = join(dir, name);
  await mkdir(d, { mode: 0o700 });
  return d;
}

test('cni_add_fails_while_the_agent_restarts_connection_refused', async () => {
  const d = await installedDir('restarting');
  const socket = join(d, 'cni.sock');
  // A listener killed without closing leaves its socket: connecting is refused.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.equal((await stat(socket)).isSocket(), true);
  for (const command of ['ADD', 'CHECK']) {
    const r = await runPlugin(command, JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 1, `${command}: ${r.stdout}`);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 11, 'try again later');
    assert.match(err.msg, /mesh is installed on this node .* not answering \(connection refused\): it is starting or restarting/);
  }
  const del = await runPlugin('DEL', JSON.stringify(conf({ agentSocket: socket, prevResult })));
  assert.deepEqual([del.code, del.stdout], [0, ''], 'DEL never blocks the kubelet');
});

test('cni_add_fails_while_the_agent_is_away_socket_removed_directory_kept', async () => {
  const d = await installedDir('away');
  const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: join(d, 'cni.sock'), prevResult })));
  assert.equal(r.code, 1, r.stdout);
  assert.equal(JSON.parse(r.stdout).code, 11);
  assert.match(JSON.parse(r.stdout).msg, /no socket.*remove .*away or the ambient-cni entry/);
});

test('cni_add_refuses_a_socket_directory_that_is_not_roots_alone', async () => {
  const d = await installedDir('loose');
  await chmod(d, 0o777);
  const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: join(d, 'cni.sock'), prevResult })));
  assert.equal(r.code, 1, r.stdout);
  assert.match(JSON.parse(r.stdout).msg, /not root's alone \(uid 0, mode 0777\)/);
});

test('cni_abstract_socket_names_are_refused_by_plugin_and_agent', async () => {
  const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: '@ambient-cni', prevResult })));
  assert.equal(r.code, 1);
  assert.deepEqual([JSON.parse(r.stdout).code, /abstract names are refused/.test(JSON.parse(r.stdout).msg)], [7, true]);
  const rec: Recorder = { adds: [], dels: [] };
  await assert.rejects(server('@ambient-cni-test', rec), (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE) && /abstract/.test((e as Error).message));
});

test('add_hands_the_pod_to_the_agent_and_prints_prev_result', async () => {
  const socket = join(dir, 'agent', 'cni.sock');
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  try {
    assert.equal((await stat(socket)).mode & 0o777, 0o600, 'only root may talk to the agent');
    assert.equal((await stat(join(dir, 'agent'))).mode & 0o777, 0o700, 'in a directory only root may use');
    // Pretty-printed, as a runtime may pass it: still one request line.
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult }), null, 2));
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), prevResult);
    assert.equal(rec.adds.length, 1);
    const pod = rec.adds[0]!;
    assert.deepEqual(
      { uid: pod.podUid, name: pod.podName, ns: pod.podNamespace, netns: pod.netnsPath, ips: pod.ips, id: pod.containerId, ifName: pod.ifName },
      { uid: '0b1c-uid', name: 'cart-7d9f', ns: 'shop', netns: '/var/run/netns/pod-1', ips: ['10.244.1.7'], id: 'c0ffee', ifName: 'eth0' },
    );
    assert.deepEqual(pod.prevResult, prevResult);
  } finally {
    await srv.close();
  }
  assert.equal(existsSync(socket), false, 'close removes the socket file');
  assert.equal(existsSync(join(dir, 'agent')), true, 'and keeps the directory: the mesh is still installed here');
});

test('a_failing_handler_fails_the_pod_with_its_message', async () => {
  const socket = join(dir, 'failing.sock');
  const rec: Recorder = { adds: [], dels: [], failWith: 'capture rules could not be applied' };
  const srv = await server(socket, rec);
  try {
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 1);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 999);
    assert.equal(err.cniVersion, '1.0.0');
    assert.match(err.msg, /capture rules could not be applied/);
  } finally {
    await srv.close();
  }
});

test('del_reaches_the_agent_and_prints_nothing', async () => {
  const socket = join(dir, 'del.sock');
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  try {
    const r = await runPlugin('DEL', JSON.stringify(conf({ agentSocket: socket, prevResult })), { CNI_NETNS: '' });
    assert.deepEqual([r.code, r.stdout], [0, '']);
    assert.equal(rec.dels.length, 1);
    assert.equal(rec.dels[0]!.containerId, 'c0ffee');
    assert.equal(rec.dels[0]!.netnsPath, '');
    assert.equal(rec.adds.length, 0);
  } finally {
    await srv.close();
  }
});

test('malformed_stdin_is_a_decoding_error', async () => {
  for (const stdin of ['{"cniVersion":"1.0.0",', 'not json', '{"cniVersion":"1.0.0"} trailing', '{"cniVersion":"1.0.0","name":"a\u0001b"}', '{"name":"no version"}']) {
    const r = await runPlugin('ADD', stdin, {});
    assert.equal(r.code, 1, stdin);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 6, stdin);
    assert.equal(typeof err.msg, 'string');
  }
});

test('oversized_stdin_is_refused', async () => {
  const r = await runPlugin('ADD', JSON.stringify(conf({ pad: 'x'.repeat(1024 * 1024) })));
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).code, 6);
});

test('missing_environment_is_an_invalid_environment_error', async () => {
  const noCommand = await runPlugin('', '{}');
  assert.deepEqual([noCommand.code, JSON.parse(noCommand.stdout).code], [1, 4]);
  const noNetns = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: sockPath() })), { CNI_NETNS: '' });
  assert.equal(noNetns.code, 1);
  assert.deepEqual([JSON.parse(noNetns.stdout).code, JSON.parse(noNetns.stdout).msg], [4, 'CNI_NETNS is not set']);
});

test('an_agent_answering_garbage_is_reported_as_a_cni_error', async () => {
  const socket = join(dir, 'garbage.sock');
  const srv = net.createServer({ allowHalfOpen: true }, (c) => {
    c.on('data', () => undefined);
    c.on('end', () => c.end('HELLO\nworld\n'));
  });
  await new Promise<void>((r) => srv.listen(socket, () => r()));
  try {
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket })));
    assert.equal(r.code, 1);
    const err = JSON.parse(r.stdout);
    assert.equal(err.code, 999);
    assert.match(err.msg, /neither OK nor ERR/);
    assert.match(err.details, /^HELLO/);
  } finally {
    await new Promise((r) => srv.close(r));
  }
});

/** Sends raw bytes to the socket and returns everything it answered. */
function exchange(socket: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let got = '';
    c.on('data', (d) => (got += d));
    // A server that cuts a client off may leave it with EPIPE on what it still writes.
    c.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    c.on('close', () => resolve(got));
    c.end(payload);
  });
}

test('a_malformed_request_gets_err_and_the_server_keeps_serving', async () => {
  const socket = sockPath();
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  try {
    for (const bad of ['{"command":"ADD"', '{"command":"RESET","containerId":"x"}\n', '\n', '']) {
      const reply = await exchange(socket, bad);
      assert.ok(reply.startsWith('ERR\n'), `${JSON.stringify(bad)} -> ${reply}`);
      const err = JSON.parse(reply.slice(4));
      assert.equal(err.code, 999);
      assert.match(err.msg, /invalid request/);
    }
    assert.equal(rec.adds.length, 0);
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(rec.adds.length, 1);
  } finally {
    await srv.close();
  }
});

test('oversized_slow_and_stuck_requests_get_err_answers', async () => {
  const socket = sockPath();
  const srv = await startHandoffServer({
    socket,
    onAdd: () => new Promise<void>(() => undefined), // never finishes
    onDel: async () => undefined,
    timeoutMs: 200,
    limits: { maxRequestBytes: 4096, requestTimeoutMs: 300 },
  });
  try {
    const big = await exchange(socket, `${'x'.repeat(100_000)}\n`);
    assert.match(JSON.parse(big.slice(4)).msg, /larger than 4096 bytes/);

    const slow = await new Promise<string>((resolve, reject) => {
      const c = net.connect(socket);
      let got = '';
      c.on('data', (d) => (got += d));
      c.on('error', reject);
      c.on('close', () => resolve(got));
      c.write('{"command":"ADD"'); // and nothing more, never closing
    });
    assert.ok(slow.startsWith('ERR\n'));
    assert.match(JSON.parse(slow.slice(4)).msg, /no complete request within 300 ms/);

    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 1);
    assert.match(JSON.parse(r.stdout).msg, /did not finish ADD within 200 ms/);
  } finally {
    await srv.close();
  }
});

test('a_stale_socket_file_is_replaced', async () => {
  const socket = join(dir, 'stale.sock');
  // A listener killed without closing leaves its socket file behind, as a crashed agent does.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.equal((await stat(socket)).isSocket(), true);
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  try {
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(rec.adds.length, 1);
  } finally {
    await srv.close();
  }
  await writeFile(socket, 'not a socket');
  await assert.rejects(server(socket, rec), (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE) && /not a socket/.test((e as Error).message));
  await rm(socket);
});

test('install_copies_the_binary_and_chains_the_plugin_into_the_first_conflist', async () => {
  const binDir = join(dir, 'opt-cni-bin');
  const confDir = join(dir, 'etc-cni-net.d');
  await mkdir(binDir, { recursive: true });
  await mkdir(confDir, { recursive: true });
  const isInstall = (re: RegExp) => (e: unknown) => isMeshError(e, ErrorCodes.CNI_INSTALL_FAILED) && re.test((e as Error).message);

  await assert.rejects(installCniPlugin({ binDir, confDir, binary: PLUGIN }), isInstall(/no CNI configuration/));

  const first = { cniVersion: '1.0.0', name: 'cbr0', plugins: [{ type: 'bridge', bridge: 'cni0' }, { type: 'portmap' }] };
  const second = { cniVersion: '1.0.0', name: 'other', plugins: [{ type: 'ptp' }] };
  await writeFile(join(confDir, '10-cbr0.conflist'), JSON.stringify(first));
  await writeFile(join(confDir, '20-other.conflist'), JSON.stringify(second));

  const done = await installCniPlugin({ binDir, confDir, binary: PLUGIN, agentSocket: '/var/run/ambient/cni.sock' });
  assert.equal(done.conflistPath, join(confDir, '10-cbr0.conflist'));
  assert.deepEqual(await readFile(done.binaryPath), await readFile(PLUGIN));
  assert.equal((await stat(done.binaryPath)).mode & 0o777, 0o755);
  const patched = JSON.parse(await readFile(done.conflistPath, 'utf8'));
  assert.deepEqual(patched, { ...first, plugins: [...first.plugins, { type: 'ambient-cni', agentSocket: '/var/run/ambient/cni.sock' }] });
  assert.deepEqual(JSON.parse(await readFile(join(confDir, '20-other.conflist'), 'utf8')), second);

  // The installed binary works where the runtime would find it.
  const r = spawnSync(done.binaryPath, [], { env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /"supportedVersions"/);

  await installCniPlugin({ binDir, confDir, binary: PLUGIN, agentSocket: '/var/run/ambient/cni.sock' });
  assert.deepEqual(JSON.parse(await readFile(done.conflistPath, 'utf8')), patched, 'installing again changes nothing');

  assert.deepEqual(await uninstallCniPlugin({ binDir, confDir }), { conflists: [done.conflistPath] });
  assert.deepEqual(JSON.parse(await readFile(done.conflistPath, 'utf8')), first);
  assert.equal(existsSync(done.binaryPath), false);
  assert.deepEqual(await uninstallCniPlugin({ binDir, confDir }), { conflists: [] }, 'uninstalling again is fine');

  await writeFile(join(confDir, '05-single.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'x', type: 'bridge' }));
  await assert.rejects(installCniPlugin({ binDir, confDir, binary: PLUGIN }), isInstall(/05-single\.conf .*not a \.conflist/));
  await rm(join(confDir, '05-single.conf'));

  await assert.rejects(installCniPlugin({ binDir, confDir: join(dir, 'nowhere'), binary: PLUGIN }), isInstall(/cannot read the CNI configuration directory/));
});
