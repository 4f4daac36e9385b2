// Direct test of the node agent's CNI installer (node-agent/cni/installer.ts) on a node's
// directories made in a temporary directory: it installs the built plugin and chains it
// into the primary conflist, repairs the chain within a bounded time when another CNI
// rewrites its file or a new conflist sorts first (watch events, and the periodic check
// alone), counts and reports each repair, and removes everything on uninstall.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CniInstaller } from '../node-agent/cni/installer.js';

const PLUGIN = fileURLToPath(new URL('../../node-agent/cni/build/ambient-cni', import.meta.url));
const SOCK = '/var/run/ambient/test/node1/cni.sock';
const flannel = { cniVersion: '1.0.0', name: 'cbr0', plugins: [{ type: 'flannel', delegate: { hairpinMode: true } }, { type: 'portmap' }] };
const types = (v: { plugins: Array<{ type: string }> }) => v.plugins.map((p) => p.type);

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function node(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), 'amb-cni-install-'));
  const binDir = join(root, 'opt/cni/bin');
  const confDir = join(root, 'etc/cni/net.d');
  await mkdir(binDir, { recursive: true });
  await mkdir(confDir, { recursive: true });
  const installers: CniInstaller[] = [];
  t.after(async () => {
    for (const i of installers) await i.stop();
    await rm(root, { recursive: true, force: true });
  });
  const readList = async (name: string) => JSON.parse(await readFile(join(confDir, name), 'utf8')) as { plugins: Array<{ type: string }> };
  /** Another CNI writes its conflist, as they do: a temporary file renamed over it. */
  const otherWrites = async (name: string, v: unknown) => {
    await writeFile(join(confDir, `.${name}.new`), JSON.stringify(v));
    await rename(join(confDir, `.${name}.new`), join(confDir, name));
  };
  const installer = (checkIntervalMs = 60_000) => {
    const repairs: string[] = [];
    const i = new CniInstaller({ binDir, confDir, binary: PLUGIN, agentSocket: SOCK, checkIntervalMs, onRepair: (why) => repairs.push(why) });
    installers.push(i);
    return { i, repairs };
  };
  return { binDir, confDir, readList, otherWrites, installer };
}

test('installer_chains_at_start_and_repairs_a_rewritten_conflist_from_the_watch', async (t) => {
  const n = await node(t);
  await n.otherWrites('10-flannel.conflist', flannel);
  const { i, repairs } = n.installer();
  await i.start();
  assert.deepEqual(types(await n.readList('10-flannel.conflist')), ['flannel', 'portmap', 'ambient-cni']);
  assert.deepEqual(await readFile(join(n.binDir, 'ambient-cni')), await readFile(PLUGIN));
  const s = i.status();
  assert.equal(s.chained, true);
  assert.equal(s.conflist, join(n.confDir, '10-flannel.conflist'));
  assert.equal(s.binary, join(n.binDir, 'ambient-cni'));
  assert.equal(s.repairs, 0, 'the first install is not a repair');

  // The other CNI rewrites its file without our entry: repaired well before the periodic check (60 s here).
  await n.otherWrites('10-flannel.conflist', flannel);
  await until('the chain repaired', async () => (types(await n.readList('10-flannel.conflist')).includes('ambient-cni') ? true : undefined), 3_000);
  await until('the repair counted', async () => (i.status().repairs === 1 ? true : undefined), 1_000);
  assert.equal(repairs.length, 1);
  assert.match(repairs[0]!, /10-flannel\.conflist had no ambient-cni entry/);
  assert.notEqual(i.status().lastRepair, null);
});

test('installer_chains_a_new_lower_named_conflist', async (t) => {
  const n = await node(t);
  await n.otherWrites('10-flannel.conflist', flannel);
  const { i } = n.installer();
  await i.start();
  const cilium = { cniVersion: '1.0.0', name: 'cilium', plugins: [{ type: 'cilium-cni' }] };
  await n.otherWrites('05-cilium.conflist', cilium);
  await until('the new primary chained', async () => (types(await n.readList('05-cilium.conflist')).includes('ambient-cni') ? true : undefined), 3_000);
  await until('the status names it', async () => (i.status().conflist === join(n.confDir, '05-cilium.conflist') ? true : undefined), 1_000);
  assert.deepEqual(types(await n.readList('05-cilium.conflist')), ['cilium-cni', 'ambient-cni']);
});

test('installer_periodic_check_repairs_without_events', async (t) => {
  const n = await node(t);
  await n.otherWrites('10-flannel.conflist', flannel);
  const { i } = n.installer(300);
  await i.start();
  // Stop the watch's help: the periodic check alone must find it (a lost inotify event).
  await i.check();
  const binary = join(n.binDir, 'ambient-cni');
  await rm(binary);
  await until('the binary installed again', async () => (existsSync(binary) ? true : undefined), 3_000);
  await until('counted', async () => (i.status().repairs >= 1 ? true : undefined), 1_000);
});

test('installer_not_chained_while_the_conf_dir_is_empty_then_chains_when_the_network_plugin_writes', async (t) => {
  const n = await node(t);
  const { i } = n.installer(300);
  await i.start();
  const s = i.status();
  assert.equal(s.chained, false);
  assert.match(s.error ?? '', /no CNI configuration in .*net\.d/);
  await n.otherWrites('10-flannel.conflist', flannel);
  await until('chained once the network plugin wrote its conflist', async () => (i.status().chained ? true : undefined), 3_000);
  assert.equal(i.status().repairs, 0);
  assert.equal(i.status().error, null);
});

test('installer_leaves_a_malformed_conflist_alone_and_says_why', async (t) => {
  const n = await node(t);
  await writeFile(join(n.confDir, '10-flannel.conflist'), '{"cniVersion": "1.0.0", "plugins": [');
  const { i } = n.installer();
  await i.start();
  assert.equal(i.status().chained, false);
  assert.match(i.status().error ?? '', /cannot read .*10-flannel\.conflist as JSON/);
  assert.equal(await readFile(join(n.confDir, '10-flannel.conflist'), 'utf8'), '{"cniVersion": "1.0.0", "plugins": [', 'not written');
});

test('installer_uninstall_removes_the_chain_and_the_binary_and_stops_repairing', async (t) => {
  const n = await node(t);
  await n.otherWrites('10-flannel.conflist', flannel);
  const { i } = n.installer(200);
  await i.start();
  assert.deepEqual(await i.uninstall(), { conflists: [join(n.confDir, '10-flannel.conflist')] });
  assert.deepEqual(await n.readList('10-flannel.conflist'), flannel);
  assert.equal(existsSync(join(n.binDir, 'ambient-cni')), false);
  assert.equal(i.status().chained, false);
  // No check runs any more: a rewrite stays as written.
  await n.otherWrites('10-flannel.conflist', flannel);
  await new Promise((r) => setTimeout(r, 600));
  assert.deepEqual(await n.readList('10-flannel.conflist'), flannel);
  assert.equal(existsSync(join(n.binDir, 'ambient-cni')), false);
});
