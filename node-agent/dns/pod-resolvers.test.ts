// Where a pod's DNS proxy forwards: the pod's own resolv.conf, found the ways the local
// cluster and a real node keep it; never a nameserver only the pod itself can reach.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { PodResolvers, usableNameserver, usableNameservers } from './pod-resolvers.js';
import { DNS_DEFAULTS } from '../../core/limits.js';
import { execFileSync } from 'node:child_process';

async function tmp(t: TestContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'amb-resolv-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

test('usable_nameservers_drop_loopback_link_local_and_unspecified', () => {
  assert.deepEqual(usableNameservers('nameserver 127.0.0.53\nnameserver 10.96.0.10\nnameserver ::1\nnameserver 169.254.20.10\nnameserver 0.0.0.0\n'), ['10.96.0.10']);
  assert.deepEqual(usableNameservers('nameserver fd00::10\nnameserver fe80::1\n'), ['fd00::10']);
  assert.equal(usableNameserver('::ffff:127.0.0.1'), false);
  assert.equal(usableNameserver('192.0.2.53'), true);
});

test('pod_resolvers_read_the_pods_etc_netns_resolv_conf', async (t) => {
  const d = await tmp(t);
  await mkdir(join(d, 'etc', 'pod-a'), { recursive: true });
  await writeFile(join(d, 'etc', 'pod-a', 'resolv.conf'), 'search shop.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  const r = new PodResolvers({ netns: 'pod-a', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc') });
  assert.deepEqual(await r.get(), ['10.96.0.10']);
});

test('pod_resolvers_fall_back_to_the_agents_own_when_the_pods_file_is_unknown', async (t) => {
  const d = await tmp(t);
  const r = new PodResolvers({ netns: 'pod-a', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc') });
  assert.deepEqual(await r.get(), ['192.0.2.1']);
});

test('pod_resolvers_find_the_file_through_a_process_in_the_pods_netns', async (t) => {
  const d = await tmp(t);
  await mkdir(join(d, 'netns'), { recursive: true });
  await writeFile(join(d, 'netns', 'pod-a'), '');
  const ino = (await stat(join(d, 'netns', 'pod-a'))).ino;
  // /proc/<pid>/ns/net reads as `net:[<inode>]`; another process is in another namespace.
  for (const [pid, target, ns] of [['7', 'net:[1]', '198.51.100.1'], ['42', `net:[${ino}]`, '10.96.0.10']] as const) {
    await mkdir(join(d, 'proc', pid, 'ns'), { recursive: true });
    await symlink(target, join(d, 'proc', pid, 'ns', 'net'));
    await mkdir(join(d, 'proc', pid, 'root', 'etc'), { recursive: true });
    await writeFile(join(d, 'proc', pid, 'root', 'etc', 'resolv.conf'), `nameserver ${ns}\n`);
  }
  const r = new PodResolvers({ netns: 'pod-a', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc') });
  assert.deepEqual(await r.get(), ['10.96.0.10']);
});

test('pod_resolvers_reread_the_file_after_the_refresh_interval', async (t) => {
  const d = await tmp(t);
  await mkdir(join(d, 'etc', 'pod-a'), { recursive: true });
  const file = join(d, 'etc', 'pod-a', 'resolv.conf');
  const r = new PodResolvers({ netns: 'pod-a', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc'), refreshMs: 50 });
  assert.deepEqual(await r.get(), ['192.0.2.1'], 'not written yet: the fallback');
  await writeFile(file, 'nameserver 10.96.0.10\n');
  assert.deepEqual(await r.get(), ['192.0.2.1'], 'cached');
  await new Promise((res) => setTimeout(res, 80));
  assert.deepEqual(await r.get(), ['10.96.0.10']);
});

test('pod_resolvers_with_only_loopback_nameservers_forward_nowhere', async (t) => {
  const d = await tmp(t);
  await mkdir(join(d, 'etc', 'pod-a'), { recursive: true });
  await writeFile(join(d, 'etc', 'pod-a', 'resolv.conf'), 'nameserver 127.0.0.1\n');
  const r = new PodResolvers({ netns: 'pod-a', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc') });
  assert.deepEqual(await r.get(), []);
});

// The pod owns the file: a huge one is read only as far as the limit (the nameserver past it
// is never seen), and a FIFO in its place neither blocks the agent nor is read.
test('pod_resolvers_read_a_huge_resolv_conf_only_up_to_the_limit_and_never_a_fifo', async (t) => {
  const d = await tmp(t);
  await mkdir(join(d, 'etc', 'pod-a'), { recursive: true });
  const pad = `# ${'x'.repeat(DNS_DEFAULTS.maxResolvConfBytes)}\n`;
  await writeFile(join(d, 'etc', 'pod-a', 'resolv.conf'), `nameserver 10.96.0.10\n${pad}nameserver 10.96.0.11\n`);
  const r = new PodResolvers({ netns: 'pod-a', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc') });
  assert.deepEqual(await r.get(), ['10.96.0.10']);

  await mkdir(join(d, 'etc', 'pod-b'), { recursive: true });
  execFileSync('mkfifo', [join(d, 'etc', 'pod-b', 'resolv.conf')]);
  const fifo = new PodResolvers({ netns: 'pod-b', fallback: () => ['192.0.2.1'], etcNetnsDir: join(d, 'etc'), netnsDir: join(d, 'netns'), procDir: join(d, 'proc') });
  assert.deepEqual(await fifo.get(), ['192.0.2.1'], 'not a regular file: the agent falls back to its own');
});
