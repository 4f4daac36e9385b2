// Unit tests of the light API-server access: reading a kubeconfig's current context, the
// in-cluster plan, and (on loopback) the credentials a request carries.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { accessFromPlan, inClusterPlan, KubeAccessError, loadKubeAccess, planFromKubeconfig } from './access.js';
import { kubeRequest } from './rest.js';

const doc = (user: Record<string, unknown>, cluster: Record<string, unknown> = { server: 'https://10.0.0.1:6443' }) => ({
  'current-context': 'c',
  contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
  clusters: [{ name: 'k', cluster }],
  users: [{ name: 'u', user }],
});

test('plan_reads_the_current_contexts_server_and_token', () => {
  const p = planFromKubeconfig(doc({ token: 't0k' }), '/etc/kube', 'kubeconfig x');
  assert.equal(p.server, 'https://10.0.0.1:6443');
  assert.deepEqual(p.token, { value: 't0k' });
  assert.equal(p.insecure, false);
});

test('plan_resolves_relative_files_from_the_kubeconfigs_directory', () => {
  const p = planFromKubeconfig(doc({ tokenFile: 'tok' }, { server: 'https://a:1', 'certificate-authority': 'ca.crt' }), '/etc/kube', 'x');
  assert.deepEqual(p.token, { file: '/etc/kube/tok' });
  assert.deepEqual(p.ca, { file: '/etc/kube/ca.crt' });
});

test('plan_accepts_client_node_spelling_token_file', () => {
  assert.deepEqual(planFromKubeconfig(doc({ 'token-file': '/t' }), '/', 'x').token, { file: '/t' });
});

test('plan_decodes_inline_data', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const p = planFromKubeconfig(
    doc({ 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY') }, { server: 'https://a:1', 'certificate-authority-data': b64('CA') }),
    '/',
    'x',
  );
  assert.deepEqual(p.ca, { data: 'CA' });
  assert.deepEqual(p.cert, { data: 'CERT' });
  assert.deepEqual(p.key, { data: 'KEY' });
});

test('plan_keeps_insecure_skip_tls_verify_and_tls_server_name', () => {
  const p = planFromKubeconfig(doc({}, { server: 'https://a:1', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api.local' }), '/', 'x');
  assert.equal(p.insecure, true);
  assert.equal(p.serverName, 'api.local');
});

test('plan_refuses_exec_plugins_naming_the_field', () => {
  assert.throws(() => planFromKubeconfig(doc({ exec: { command: 'x' } }), '/', 'kubeconfig f'), (e: Error) => e instanceof KubeAccessError && /uses exec/.test(e.message));
  assert.throws(() => planFromKubeconfig(doc({ 'auth-provider': { name: 'gcp' } }), '/', 'f'), /uses auth-provider/);
});

test('plan_refuses_a_certificate_without_its_key', () => {
  assert.throws(() => planFromKubeconfig(doc({ 'client-certificate': '/c' }), '/', 'f'), /certificate without a key/);
});

test('plan_names_what_is_missing', () => {
  assert.throws(() => planFromKubeconfig('nope', '/', 'f'), /not a kubeconfig/);
  assert.throws(() => planFromKubeconfig({ ...doc({}), 'current-context': undefined }, '/', 'f'), /current-context is not set/);
  assert.throws(() => planFromKubeconfig({ ...doc({}), 'current-context': 'other' }, '/', 'f'), /no context named "other"/);
  assert.throws(() => planFromKubeconfig(doc({}, {}), '/', 'f'), /has no server/);
});

test('in_cluster_plan_uses_the_service_env_and_the_serviceaccount_files', () => {
  const p = inClusterPlan({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, '/sa');
  assert.equal(p.server, 'https://10.96.0.1:443');
  assert.deepEqual(p.ca, { file: '/sa/ca.crt' });
  assert.deepEqual(p.token, { file: '/sa/token' });
});

test('in_cluster_plan_brackets_ipv6_and_needs_both_variables', () => {
  assert.equal(inClusterPlan({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }).server, 'https://[fd00::1]:443');
  assert.throws(() => inClusterPlan({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }), /KUBERNETES_SERVICE_PORT/);
});

test('requests_carry_the_token_file_as_it_is_now', async (t) => {
  const dir = mkdtempSync(join(os.tmpdir(), 'kube-access-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(String(req.headers.authorization));
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ path: req.url }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  writeFileSync(join(dir, 'token'), 'first\n');
  const kubeconfig = join(dir, 'config');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'current-context: c',
      'contexts: [{name: c, context: {cluster: k, user: u}}]',
      `clusters: [{name: k, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: u, user: {tokenFile: token}}]',
    ].join('\n'),
  );
  const access = await loadKubeAccess({ KUBECONFIG: kubeconfig });
  assert.deepEqual(await kubeRequest(access, 'GET', '/api/v1/namespaces/a'), { path: '/api/v1/namespaces/a' });
  writeFileSync(join(dir, 'token'), 'second\n'); // the kubelet rotated it
  await kubeRequest(access, 'GET', '/api/v1/namespaces/b');
  assert.deepEqual(seen, ['Bearer first', 'Bearer second']);
});

test('an_inline_token_and_no_file_reads', async () => {
  const opts: https.RequestOptions = { headers: { accept: 'application/json' } };
  await accessFromPlan({ server: 'https://a:1', source: 'x', insecure: false, token: { value: 'abc' } }).applyToHTTPSOptions(opts);
  assert.deepEqual(opts.headers, { accept: 'application/json', authorization: 'Bearer abc' });
  assert.equal(opts.rejectUnauthorized, true);
});
