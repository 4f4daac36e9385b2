// The CNI plugin (direct tier): the built C binary run as a container runtime runs it
// (CNI_* environment, config on stdin, result on stdout), against the agent's real
// hand-off server on its root-only filesystem socket, with the agent away (fail closed)
// and with the mesh not installed (the only pass-through). The attack tests play a
// non-root process, a forger with root's socket but another netns, a flood, and a
// squatter, in network namespaces the test creates.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, chmod, chown as chownPath, link as linkFile, mkdir, mkdtemp, readFile, rename as renameFile, rm, stat, symlink as symlinkPath, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Workload } from '../core/config/model.js';
import { ErrorCodes, isMeshError } from '../core/errors.js';
import { CNI_DEFAULTS } from '../core/limits.js';
import { CniHandlers, type CniAgentPort } from '../node-agent/cni/handlers.js';
import { netnsAddresses } from '../node-agent/enrolment/netns.js';
import { startHandoffServer, type CniPod, type HandoffServer } from '../node-agent/cni/handoff.js';
import { installCniPlugin, uninstallCniPlugin } from '../node-agent/cni/install.js';
import { Netns, requireRoot } from './support/netns.js';

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

  await assert.rejects(installCniPlugin({ binDir, confDir: join(dir, 'nowhere'), binary: PLUGIN }), isInstall(/nowhere does not exist/));
});

// ---------------------------------------------------------------------------------------
// Attacks on the hand-off, and the agent's decisions behind it (real plugin, real socket,
// real network namespaces; the agent's enrolment state is a recorder behind CniAgentPort).

const NOBODY = 65534;

/** Runs `code` with node as uid/gid nobody; resolves with its stdout. */
function asNobody(code: string, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code, ...args], { uid: NOBODY, gid: NOBODY, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errOut = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (errOut += d));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out || errOut);
    });
  });
}

/** A directory anyone may traverse (for what the test hands to nobody). */
async function openDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'amb-cni-open-'));
  await chmod(d, 0o755);
  return d;
}

const CONNECT_AND_SEND = `
  const c = require('net').connect(process.argv[1]);
  let got = '';
  c.on('data', (d) => (got += d));
  c.on('error', (e) => { got += 'CONNECT-ERROR ' + e.code; });
  c.on('close', () => process.stdout.write(got));
  c.end(process.argv[2] + '\\n');`;

function addLine(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    command: 'ADD',
    containerId: 'c0ffee',
    netns: '/var/run/netns/pod-1',
    ifName: 'eth0',
    args: 'K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-7d9f;K8S_POD_UID=0b1c-uid',
    config: conf({ prevResult }),
    ...over,
  });
}

test('cni_connection_from_a_non_root_process_is_refused', async (t) => {
  if (!requireRoot(t)) return;
  const socket = sockPath();
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  const open = await openDir();
  t.after(() => rm(open, { recursive: true, force: true }));
  try {
    // The directory is root's alone: nobody cannot even reach the socket.
    assert.match(await asNobody(CONNECT_AND_SEND, [socket, addLine()]), /CONNECT-ERROR EACCES/);
    // Were the modes loosened (a link to the socket where nobody can reach it, the socket
    // made 0666), SO_PEERCRED still refuses a peer that is not root.
    const link = join(open, 'cni.sock');
    await linkFile(socket, link);
    await chmod(socket, 0o666);
    const reply = await asNobody(CONNECT_AND_SEND, [link, addLine()]);
    assert.ok(reply.startsWith('ERR\n'), reply);
    assert.match(JSON.parse(reply.slice(4)).msg, /runs as uid 65534, not root/);
    assert.equal(rec.adds.length, 0, 'the forged ADD never reached the agent');
    // Root (the runtime) still gets through.
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(rec.adds.length, 1);
  } finally {
    await srv.close();
  }
});

test('cni_plugin_refuses_an_agent_socket_held_by_a_non_root_process', async (t) => {
  if (!requireRoot(t)) return;
  const open = await openDir();
  t.after(() => rm(open, { recursive: true, force: true }));
  const home = join(open, 'nobody');
  await mkdir(home, { mode: 0o700 });
  await chownPath(home, NOBODY, NOBODY);
  const squat = join(home, 'squat.sock');
  // nobody listens and would answer OK (letting the pod start uncaptured)...
  const child = spawn(
    process.execPath,
    ['-e', `require('net').createServer({allowHalfOpen:true},(c)=>{c.on('data',()=>{});c.on('end',()=>c.end('OK\\n{"cniVersion":"1.0.0"}\\n'))}).listen(${JSON.stringify(squat)},()=>process.stdout.write('up'))`],
    { uid: NOBODY, gid: NOBODY, cwd: '/', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the squatter did not start')));
  });
  // ...and its socket ends up where the agent's goes (moved there: it could never bind there itself).
  const d = await installedDir('squatted-by-nobody');
  await renameFile(squat, join(d, 'cni.sock'));
  const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: join(d, 'cni.sock'), prevResult })));
  assert.equal(r.code, 1, r.stdout);
  assert.match(JSON.parse(r.stdout).msg, /runs as uid 65534, not root: refusing to hand it the pod/);
  const del = await runPlugin('DEL', JSON.stringify(conf({ agentSocket: join(d, 'cni.sock'), prevResult })));
  assert.deepEqual([del.code, del.stdout], [0, ''], 'DEL tells it nothing and does not block the kubelet');
  // The agent refuses to start on it too.
  await assert.rejects(server(join(d, 'cni.sock'), { adds: [], dels: [] }), (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE) && /socket of uid 65534/.test((e as Error).message));
});

test('cni_request_of_4_mib_is_cut_off_at_the_limit', async () => {
  const socket = sockPath();
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  try {
    const CHUNK = 64 * 1024;
    const chunk = Buffer.alloc(CHUNK, 'x');
    const c = net.connect(socket);
    let reply = '';
    let closed = false;
    c.on('data', (d) => (reply += d));
    c.on('error', () => undefined);
    c.on('close', () => (closed = true));
    await new Promise<void>((resolve, reject) => {
      c.once('connect', resolve);
      c.once('error', reject);
    });
    let written = 0;
    for (let i = 0; i < (4 * 1024 * 1024) / CHUNK && !closed; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 5_000);
        c.write(chunk, (err) => {
          clearTimeout(timer);
          resolve(!err);
        });
      });
      if (!ok) break;
      written += CHUNK;
    }
    await new Promise<void>((resolve) => (closed ? resolve() : c.once('close', () => resolve())));
    assert.ok(reply.startsWith('ERR\n'), reply.slice(0, 100));
    assert.match(JSON.parse(reply.slice(4)).msg, new RegExp(`larger than ${CNI_DEFAULTS.maxRequestBytes} bytes`));
    // Cut off: the agent stopped reading at the limit (what the kernel buffers is all that got further).
    assert.ok(written < 4 * 1024 * 1024, `the client could write ${written} bytes`);
    assert.ok(CNI_DEFAULTS.maxRequestBytes <= 2 * 1024 * 1024, 'the limit is near the plugin\'s own 1 MiB stdin');
    assert.equal(rec.adds.length, 0);
  } finally {
    await srv.close();
  }
});

test('cni_connections_beyond_the_cap_are_refused', async () => {
  const socket = sockPath();
  const rec: Recorder = { adds: [], dels: [] };
  const srv = await server(socket, rec);
  const held: net.Socket[] = [];
  try {
    // maxConnections clients that connect and say nothing (within requestTimeoutMs).
    for (let i = 0; i < CNI_DEFAULTS.maxConnections; i++) {
      const c = net.connect(socket);
      c.on('error', () => undefined);
      await new Promise<void>((resolve) => c.once('connect', () => resolve()));
      held.push(c);
    }
    await new Promise((r) => setTimeout(r, 100)); // the server has accepted them all
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    assert.equal(r.code, 1, r.stdout);
    assert.match(JSON.parse(r.stdout).msg, new RegExp(`busy \\(${CNI_DEFAULTS.maxConnections} hand-offs in progress\\)`));
    assert.equal(rec.adds.length, 0);
    for (const c of held) c.destroy();
    let ok: Run | undefined;
    for (let i = 0; i < 50 && ok?.code !== 0; i++) {
      await new Promise((res) => setTimeout(res, 20));
      ok = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: socket, prevResult })));
    }
    assert.equal(ok?.code, 0, 'served again once the others are gone');
  } finally {
    for (const c of held) c.destroy();
    await srv.close();
  }
});

test('cni_squatted_socket_directory_is_refused_at_agent_start', async (t) => {
  if (!requireRoot(t)) return;
  const rec: Recorder = { adds: [], dels: [] };
  const refused = (re: RegExp) => (e: unknown) => isMeshError(e, ErrorCodes.CNI_SOCKET_UNSAFE) && re.test((e as Error).message);

  const byNobody = join(dir, 'sq-nobody');
  await mkdir(byNobody, { mode: 0o700 });
  await chownPath(byNobody, NOBODY, NOBODY);
  await assert.rejects(server(join(byNobody, 'cni.sock'), rec), refused(/owned by uid 65534, not root: someone else created it before the agent \(squatting\)/));

  const loose = join(dir, 'sq-0777');
  await mkdir(loose);
  await chmod(loose, 0o777);
  await assert.rejects(server(join(loose, 'cni.sock'), rec), refused(/has mode 0777: group or others may create entries in it/));

  const looseParent = join(dir, 'sq-parent');
  await mkdir(looseParent);
  await chmod(looseParent, 0o777);
  await assert.rejects(server(join(looseParent, 'agent', 'cni.sock'), rec), refused(/sq-parent \(mode 0777\) is writable by group or others without the sticky bit/));

  const target = join(dir, 'sq-target');
  await mkdir(target, { mode: 0o700 });
  await symlinkPath(target, join(dir, 'sq-link'));
  await assert.rejects(server(join(dir, 'sq-link', 'cni.sock'), rec), refused(/symbolic link/));

  // Root's 0755 (what a hostPath DirectoryOrCreate makes) is tightened, not refused.
  const kubelets = join(dir, 'sq-0755');
  await mkdir(kubelets);
  await chmod(kubelets, 0o755);
  const srv = await server(join(kubelets, 'cni.sock'), rec);
  try {
    assert.equal((await stat(kubelets)).mode & 0o7777, 0o700);
    // A second agent on the same path does not take over a live one.
    await assert.rejects(server(join(kubelets, 'cni.sock'), rec), refused(/another node agent is already listening/));
  } finally {
    await srv.close();
  }
});

// ---- the agent's decisions through the real plugin ----

class RecordingAgent implements CniAgentPort {
  readonly config = new Map<string, Workload>();
  readonly enrolledIn = new Map<string, { netns: string; workload: Workload }>();
  readonly enrols: Array<{ uid: string; netns: string }> = [];
  readonly releases: string[] = [];
  judge: (p: CniPod) => Promise<Workload | undefined> = async () => undefined;
  netnsNames: string[] = [];

  workload(uid: string) {
    return this.config.get(uid);
  }
  judgeNewPod(p: CniPod) {
    return this.judge(p);
  }
  enrolled(uid: string) {
    return this.enrolledIn.get(uid);
  }
  async findNetns(ips: readonly string[], except: string) {
    for (const name of this.netnsNames) if (name !== except && (await netnsAddresses(name))?.some((a) => ips.includes(a))) return name;
    return undefined;
  }
  async enrol(uid: string, netns: string, announced: Workload | undefined) {
    this.enrols.push({ uid, netns });
    this.enrolledIn.set(uid, { netns, workload: this.config.get(uid) ?? announced! });
  }
  async release(uid: string) {
    this.releases.push(uid);
    this.enrolledIn.delete(uid);
  }
}

function meshWorkload(uid: string, name: string, ip: string): Workload {
  return { uid, name, namespace: 'shop', serviceAccount: 'cart', identity: 'spiffe://cluster.local/ns/shop/sa/cart', node: 'node1', ips: [ip], protocol: 'HBONE', labels: {}, canonicalName: name, canonicalRevision: 'latest', mtlsMode: 'STRICT', healthy: true } as Workload;
}

/** A pod-like netns holding `ip` on eth0. */
async function podNetns(t: TestContext, tag: string, ip: string): Promise<Netns> {
  const ns = await Netns.create(tag, t);
  await ns.run('ip', ['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  await ns.run('ip', ['addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await ns.run('ip', ['link', 'set', 'eth0', 'up']);
  return ns;
}

async function agentServer(agent: RecordingAgent): Promise<HandoffServer & { socket: string }> {
  const handlers = new CniHandlers({ agent });
  const socket = sockPath();
  const srv = await startHandoffServer({ socket, onAdd: (p) => handlers.add(p), onDel: (p) => handlers.del(p) });
  return Object.assign(srv, { socket });
}

function podRun(command: string, socket: string, o: { uid: string; name: string; netns: string; ip?: string; containerId: string }): Promise<Run> {
  const result = { ...prevResult, ips: o.ip ? [{ interface: 2, address: `${o.ip}/24` }] : [] };
  return runPlugin(command, JSON.stringify(conf({ agentSocket: socket, prevResult: result })), {
    CNI_CONTAINERID: o.containerId,
    CNI_NETNS: o.netns,
    CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=${o.name};K8S_POD_UID=${o.uid}`,
  });
}

test('cni_forged_add_moving_an_enrolled_pods_identity_into_another_netns_is_refused', async (t) => {
  if (!requireRoot(t)) return;
  const victimNs = await podNetns(t, 'victim', '10.77.0.2');
  const attackerNs = await podNetns(t, 'attacker', '10.77.0.3');
  const agent = new RecordingAgent();
  agent.netnsNames = [attackerNs.name, victimNs.name]; // the forger's first: a scan must skip it
  agent.config.set('victim-uid', meshWorkload('victim-uid', 'victim', '10.77.0.2'));
  const srv = await agentServer(agent);
  try {
    // The runtime's real ADD: the victim is enrolled (captured) in its own netns.
    const legit = await podRun('ADD', srv.socket, { uid: 'victim-uid', name: 'victim', netns: victimNs.path, ip: '10.77.0.2', containerId: 'victim-sandbox' });
    assert.equal(legit.code, 0, legit.stdout);
    assert.deepEqual(agent.enrolledIn.get('victim-uid')?.netns, victimNs.name);

    // Forged: the victim's pod, the attacker's netns, the attacker's own address.
    const own = await podRun('ADD', srv.socket, { uid: 'victim-uid', name: 'victim', netns: attackerNs.path, ip: '10.77.0.3', containerId: 'forged' });
    assert.equal(own.code, 1, own.stdout);
    assert.match(JSON.parse(own.stdout).msg, new RegExp(`lives in netns ${victimNs.name}, which still holds its addresses`));
    // Forged: claiming the victim's address from the attacker's netns.
    const claimed = await podRun('ADD', srv.socket, { uid: 'victim-uid', name: 'victim', netns: attackerNs.path, ip: '10.77.0.2', containerId: 'forged' });
    assert.equal(claimed.code, 1, claimed.stdout);
    assert.match(JSON.parse(claimed.stdout).msg, new RegExp(`netns ${attackerNs.name} does not hold 10\\.77\\.0\\.2`));

    // The victim stays captured where it lives; nothing was released or re-enrolled.
    assert.deepEqual(agent.enrolledIn.get('victim-uid')?.netns, victimNs.name);
    assert.deepEqual(agent.releases, []);
    assert.deepEqual(agent.enrols, [{ uid: 'victim-uid', netns: victimNs.name }]);

    // An agent that has not found the victim yet (restarted) still sees it alive by address.
    agent.enrolledIn.delete('victim-uid');
    const afterRestart = await podRun('ADD', srv.socket, { uid: 'victim-uid', name: 'victim', netns: attackerNs.path, ip: '10.77.0.3', containerId: 'forged' });
    assert.equal(afterRestart.code, 1, afterRestart.stdout);
    assert.equal(agent.enrols.length, 1);

    // Even when the forger gives its own netns the victim's address too (root can).
    await attackerNs.run('ip', ['addr', 'add', '10.77.0.2/24', 'dev', 'eth0']);
    const copied = await podRun('ADD', srv.socket, { uid: 'victim-uid', name: 'victim', netns: attackerNs.path, ip: '10.77.0.2', containerId: 'forged' });
    assert.equal(copied.code, 1, copied.stdout);
    assert.match(JSON.parse(copied.stdout).msg, new RegExp(`lives in netns ${victimNs.name}`));
    assert.equal(agent.enrols.length, 1);
    await attackerNs.run('ip', ['addr', 'del', '10.77.0.2/24', 'dev', 'eth0']);

    // A new pod whose netns holds its address is enrolled (the check can pass).
    agent.judge = async (p) => meshWorkload(p.podUid!, p.podName!, '10.77.0.3');
    const fresh = await podRun('ADD', srv.socket, { uid: 'new-uid', name: 'new', netns: attackerNs.path, ip: '10.77.0.3', containerId: 'new-sandbox' });
    assert.equal(fresh.code, 0, fresh.stdout);
    assert.equal(agent.enrolledIn.get('new-uid')?.netns, attackerNs.name);
  } finally {
    await srv.close();
  }
});

test('cni_forged_del_with_a_wrong_container_id_or_netns_leaves_the_victim_captured', async (t) => {
  if (!requireRoot(t)) return;
  const victimNs = await podNetns(t, 'victim', '10.77.1.2');
  const otherNs = await podNetns(t, 'other', '10.77.1.3');
  const agent = new RecordingAgent();
  agent.config.set('victim-uid', meshWorkload('victim-uid', 'victim', '10.77.1.2'));
  const srv = await agentServer(agent);
  try {
    assert.equal((await podRun('ADD', srv.socket, { uid: 'victim-uid', name: 'victim', netns: victimNs.path, ip: '10.77.1.2', containerId: 'victim-sandbox' })).code, 0);
    for (const forged of [
      { netns: victimNs.path, containerId: 'forged' },
      { netns: otherNs.path, containerId: 'forged' },
      { netns: '', containerId: 'forged' },
    ]) {
      const r = await podRun('DEL', srv.socket, { uid: 'victim-uid', name: 'victim', ...forged });
      assert.deepEqual([r.code, r.stdout], [0, ''], 'a DEL is answered OK (a failing DEL blocks the kubelet)');
      assert.equal(agent.enrolledIn.get('victim-uid')?.netns, victimNs.name, `still captured after ${JSON.stringify(forged)}`);
    }
    // A pod the agent found by address (no ADD recorded): only its own netns releases it.
    agent.config.set('found-uid', meshWorkload('found-uid', 'found', '10.77.1.3'));
    agent.enrolledIn.set('found-uid', { netns: otherNs.name, workload: agent.config.get('found-uid')! });
    for (const netns of [victimNs.path, '']) {
      await podRun('DEL', srv.socket, { uid: 'found-uid', name: 'found', netns, containerId: 'forged' });
      assert.equal(agent.enrolledIn.get('found-uid')?.netns, otherNs.name);
    }
    assert.deepEqual(agent.releases, []);

    // The runtime's real DELs release them.
    assert.equal((await podRun('DEL', srv.socket, { uid: 'victim-uid', name: 'victim', netns: '', containerId: 'victim-sandbox' })).code, 0);
    assert.equal((await podRun('DEL', srv.socket, { uid: 'found-uid', name: 'found', netns: otherNs.path, containerId: 'whatever' })).code, 0);
    assert.deepEqual(agent.releases, ['victim-uid', 'found-uid']);
  } finally {
    await srv.close();
  }
});

test('cni_add_fails_when_the_agent_cannot_read_the_pod_from_the_api_server', async () => {
  const agent = new RecordingAgent();
  agent.judge = async () => {
    throw new Error('GET /api/v1/namespaces/shop/pods/cart-7d9f: connect ECONNREFUSED 10.96.0.1:443');
  };
  const srv = await agentServer(agent);
  try {
    const r = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: srv.socket, prevResult })));
    assert.equal(r.code, 1, r.stdout);
    const err = JSON.parse(r.stdout);
    assert.match(err.msg, /cannot decide whether pod shop\/cart-7d9f is enrolled \(GET .*ECONNREFUSED.*\); the kubelet retries/);
    assert.equal(err.details, ErrorCodes.CNI_UNDECIDED);
    assert.deepEqual(agent.enrols, []);

    // Decided "not enrolled": the pod passes (the agent's answer, not a fallback).
    agent.judge = async () => undefined;
    const passed = await runPlugin('ADD', JSON.stringify(conf({ agentSocket: srv.socket, prevResult })));
    assert.equal(passed.code, 0, passed.stdout);
    assert.deepEqual(JSON.parse(passed.stdout), prevResult);
  } finally {
    await srv.close();
  }
});
