// Direct tier (real Redis, Debian's kubectl): the local API server learns kinds from
// CustomResourceDefinitions as a real one does. A CRD created is Established and its kind
// served (discovery, REST, watch, Tables with its printer columns), its schema and CEL rules
// enforced, undeclared fields refused under fieldValidation=Strict and pruned with a
// warning otherwise; the status subresource exists only when declared; a restarted server
// serves the stored CRDs' kinds; deleting a CRD stops serving its kind and deletes its objects.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { startApiServer, type ApiServer } from '../local-cluster/apiserver/server.js';
import { kubeConfigForServer } from '../core/kube/config.js';
import { installMeshCrds } from './support/control-plane.js';
import { REPO } from './support/e2e.js';
import { startRedis, type TestRedis } from './support/redis.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
const run = promisify(execFile);

let redis: TestRedis;
let dir: string;
const servers = new Set<ApiServer>();
let prefixes = 0;

before(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'apiserver-crds-'));
});

after(async () => {
  await Promise.allSettled([...servers].map((s) => s.close()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function server(prefix = `crd${++prefixes}:`): Promise<ApiServer> {
  const s = await startApiServer({ redisUrl: redis.url, prefix });
  servers.add(s);
  return s;
}

interface Reply {
  status: number;
  body: Any;
  headers: Headers;
}

async function call(s: ApiServer, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const WIDGETS = '/apis/example.com/v1/namespaces/default/widgets';

/** A small CRD of the test's own: a namespaced Widget with a size, a CEL rule, printer columns; `status` subresource optional. */
const widgetCrd = (status = true): Any => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'widgets', kind: 'Widget', shortNames: ['wd'] },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        ...(status ? { subresources: { status: {} } } : {}),
        additionalPrinterColumns: [{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                properties: { size: { type: 'integer', minimum: 1 }, color: { type: 'string', enum: ['red', 'blue'] }, max: { type: 'integer' } },
                'x-kubernetes-validations': [{ rule: '!has(self.max) || self.size <= self.max', message: 'size must not exceed max' }],
              },
              status: { type: 'object', properties: { ready: { type: 'boolean' } } },
            },
          },
        },
      },
    ],
  },
});

const widget = (name: string, spec: unknown, extra: Record<string, unknown> = {}) => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name }, spec, ...extra });

test('a_created_crd_is_established_and_its_kind_served_with_schema_rules_and_columns', async () => {
  const s = await server();
  assert.equal((await call(s, 'GET', WIDGETS)).status, 404, 'not served before its CRD');
  const created = await call(s, 'POST', CRDS, widgetCrd());
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const conds = Object.fromEntries(created.body.status.conditions.map((c: Any) => [c.type, c.status]));
  assert.deepEqual(conds, { NamesAccepted: 'True', Established: 'True' });
  assert.deepEqual(created.body.status.acceptedNames, { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wd'] });
  assert.equal(created.body.spec.names.listKind, 'WidgetList', 'defaulted');

  const groups = (await call(s, 'GET', '/apis')).body.groups.map((g: Any) => g.name);
  assert.ok(groups.includes('example.com'));
  const resources = (await call(s, 'GET', '/apis/example.com/v1')).body.resources;
  assert.deepEqual(resources.map((r: Any) => [r.name, r.kind, r.namespaced]), [['widgets', 'Widget', true], ['widgets/status', 'Widget', true]]);
  assert.deepEqual(resources[0].shortNames, ['wd']);

  const ok = await call(s, 'POST', WIDGETS, widget('w1', { size: 2, color: 'red' }));
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.metadata.generation, 1);

  const enumBad = await call(s, 'POST', WIDGETS, widget('w2', { size: 2, color: 'green' }));
  assert.equal(enumBad.status, 422);
  assert.equal(enumBad.body.message, 'Widget "w2" is invalid: spec.color: Unsupported value: "green": supported values: "red", "blue"');

  const cel = await call(s, 'POST', WIDGETS, widget('w3', { size: 5, max: 3 }));
  assert.equal(cel.status, 422);
  assert.equal(cel.body.message, 'Widget "w3" is invalid: spec: Invalid value: "object": size must not exceed max');
  assert.deepEqual(cel.body.details.causes, [{ reason: 'FieldValueInvalid', message: 'Invalid value: "object": size must not exceed max', field: 'spec' }]);

  // Updates and patches go through the same checks.
  const patched = await call(s, 'PATCH', `${WIDGETS}/w1`, { spec: { max: 1 } }, { 'content-type': 'application/merge-patch+json' });
  assert.equal(patched.status, 422);
  assert.match(patched.body.message, /size must not exceed max/);
  assert.equal((await call(s, 'PATCH', `${WIDGETS}/w1`, { spec: { x: 1 } }, { 'content-type': 'application/strategic-merge-patch+json' })).status, 415, 'no strategic merge patch for a CRD kind');

  // Printer columns in the Table kubectl asks for.
  const table = await call(s, 'GET', WIDGETS, undefined, { accept: 'application/json;as=Table;g=meta.k8s.io;v=v1' });
  assert.deepEqual(table.body.columnDefinitions.map((c: Any) => c.name), ['Name', 'Size']);
  assert.deepEqual(table.body.rows.map((r: Any) => r.cells), [['w1', 2]]);
});

test('undeclared_fields_are_refused_under_strict_and_pruned_with_a_warning_otherwise', async () => {
  const s = await server();
  assert.equal((await call(s, 'POST', CRDS, widgetCrd())).status, 201);
  const strict = await call(s, 'POST', `${WIDGETS}?fieldValidation=Strict`, widget('w', { size: 1, colour: 'red', deep: { x: 1 } }, { extra: true }));
  assert.equal(strict.status, 400, JSON.stringify(strict.body));
  assert.equal(strict.body.reason, 'BadRequest');
  assert.equal(strict.body.message, 'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.colour", unknown field "spec.deep", unknown field "extra"');
  assert.equal((await call(s, 'GET', `${WIDGETS}/w`)).status, 404, 'nothing stored');

  const warned = await call(s, 'POST', WIDGETS, widget('w', { size: 1, colour: 'red' }));
  assert.equal(warned.status, 201);
  assert.equal(warned.headers.get('warning'), '299 - "unknown field \\"spec.colour\\""');
  assert.deepEqual(warned.body.spec, { size: 1 }, 'pruned');
  const ignored = await call(s, 'PUT', `${WIDGETS}/w?fieldValidation=Ignore`, { ...warned.body, spec: { size: 1, colour: 'blue' } });
  assert.equal(ignored.status, 200);
  assert.equal(ignored.headers.get('warning'), null);
  assert.equal(ignored.body.metadata.generation, 1, 'a pruned field changes nothing');
  assert.equal((await call(s, 'POST', `${WIDGETS}?fieldValidation=Loose`, widget('v', { size: 1 }))).status, 400);
});

test('the_status_subresource_exists_only_when_the_crd_declares_it', async () => {
  const s = await server();
  assert.equal((await call(s, 'POST', CRDS, widgetCrd(true))).status, 201);
  const w = await call(s, 'POST', WIDGETS, widget('w', { size: 1 }, { status: { ready: true } }));
  assert.equal(w.body.status, undefined, 'create drops status');
  const st = await call(s, 'PATCH', `${WIDGETS}/w/status`, { status: { ready: true } }, { 'content-type': 'application/merge-patch+json' });
  assert.equal(st.status, 200);
  assert.deepEqual(st.body.status, { ready: true });
  const badStatus = await call(s, 'PATCH', `${WIDGETS}/w/status`, { status: { ready: 'yes' } }, { 'content-type': 'application/merge-patch+json' });
  assert.equal(badStatus.status, 422, 'status is checked against the schema too');

  // Without the subresource, status is part of the main resource.
  const t = await server();
  assert.equal((await call(t, 'POST', CRDS, widgetCrd(false))).status, 201);
  const plain = await call(t, 'POST', WIDGETS, widget('w', { size: 1 }, { status: { ready: true } }));
  assert.deepEqual(plain.body.status, { ready: true });
  assert.equal((await call(t, 'GET', `${WIDGETS}/w/status`)).status, 404);
  assert.deepEqual((await call(t, 'GET', '/apis/example.com/v1')).body.resources.map((r: Any) => r.name), ['widgets']);
});

test('a_watch_on_a_crd_kind_sees_its_objects', async () => {
  const s = await server();
  assert.equal((await call(s, 'POST', CRDS, widgetCrd())).status, 201);
  const ac = new AbortController();
  const res = await fetch(`${s.url}${WIDGETS}?watch=true&timeoutSeconds=5`, { signal: ac.signal });
  const reader = res.body!.getReader();
  await call(s, 'POST', WIDGETS, widget('w', { size: 3 }));
  let text = '';
  const deadline = Date.now() + 5000;
  while (!text.includes('\n') && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  ac.abort();
  const ev = JSON.parse(text.split('\n')[0]!);
  assert.equal(ev.type, 'ADDED');
  assert.equal(ev.object.spec.size, 3);
});

test('invalid_crds_are_refused_naming_the_field', async () => {
  const s = await server();
  const bad = (mutate: (c: Any) => void) => {
    const c = widgetCrd();
    mutate(c);
    return call(s, 'POST', CRDS, c);
  };
  const name = await bad((c) => (c.metadata.name = 'widgets.other.com'));
  assert.equal(name.status, 422);
  assert.match(name.body.message, /metadata\.name: Invalid value: "widgets\.other\.com": must be spec\.names\.plural\+"\."\+spec\.group/);
  const untyped = await bad((c) => delete c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.type);
  assert.equal(untyped.status, 422);
  assert.deepEqual(untyped.body.details.causes.map((x: Any) => x.field), ['spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type']);
  const rule = await bad((c) => (c.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'] = [{ rule: 'self.size >' }]));
  assert.equal(rule.status, 422);
  assert.match(rule.body.message, /x-kubernetes-validations\[0\]\.rule: Invalid value: "self\.size >": compilation failed/);
  const scale = await bad((c) => (c.spec.versions[0].subresources.scale = { specReplicasPath: '.spec.size', statusReplicasPath: '.status.size' }));
  assert.equal(scale.status, 422);
  const builtIn = await call(s, 'POST', CRDS, { ...widgetCrd(), metadata: { name: 'gateways.gateway.networking.k8s.io' }, spec: { ...widgetCrd().spec, group: 'gateway.networking.k8s.io', names: { plural: 'gateways', kind: 'Gateway' } } });
  assert.equal(builtIn.status, 422, 'a built-in kind is not taken over');
});

test('a_restarted_server_serves_the_stored_crds_and_deleting_a_crd_deletes_its_kind_and_objects', async () => {
  const prefix = `crdrestart${++prefixes}:`;
  const s = await server(prefix);
  assert.equal((await call(s, 'POST', CRDS, widgetCrd())).status, 201);
  assert.equal((await call(s, 'POST', WIDGETS, widget('w', { size: 1 }))).status, 201);
  await s.close();
  servers.delete(s);

  const t = await server(prefix);
  assert.equal((await call(t, 'GET', `${WIDGETS}/w`)).body.spec.size, 1, 'served after a restart');
  assert.equal((await call(t, 'POST', WIDGETS, widget('v', { size: 0 }))).status, 422, 'and checked');

  const gone = await call(t, 'DELETE', `${CRDS}/widgets.example.com`);
  assert.equal(gone.status, 200);
  assert.equal((await call(t, 'GET', WIDGETS)).status, 404);
  assert.equal((await call(t, 'GET', '/apis/example.com/v1')).status, 404);
  assert.ok(!(await call(t, 'GET', '/apis')).body.groups.some((g: Any) => g.name === 'example.com'));
  assert.equal((await call(t, 'POST', CRDS, widgetCrd())).status, 201);
  assert.deepEqual((await call(t, 'GET', WIDGETS)).body.items, [], 'its objects went with it');
});

test('kubectl_installs_the_mesh_crds_then_applies_gets_with_printer_columns_and_is_refused_unknown_fields', async () => {
  const s = await server();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    ['apiVersion: v1', 'kind: Config', `clusters: [{name: local, cluster: {server: "${s.url}"}}]`, 'users: [{name: admin, user: {}}]', 'contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]', 'current-context: local', ''].join('\n'),
  );
  const kubectl = async (...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> => {
    try {
      const r = await run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=10s', ...args], { timeout: 30_000, env: { ...process.env, HOME: dir, KUBECONFIG: kubeconfig } });
      return { ...r, code: 0 };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? 1 };
    }
  };
  const applied = await kubectl('apply', '-f', join(REPO, 'manifests/crds.yaml'));
  assert.equal(applied.code, 0, applied.stderr);
  assert.match(applied.stdout, /customresourcedefinition\.apiextensions\.k8s\.io\/authorizationpolicies\.ambient\.dev created/);
  const crds = await kubectl('get', 'crds');
  assert.match(crds.stdout, /^NAME\s+CREATED AT\n/);
  assert.match(crds.stdout, /rollouts\.ambient\.dev/);

  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, 'apiVersion: ambient.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny-web}\nspec:\n  action: DENY\n  selector: {matchLabels: {app: web}}\n  rules: [{from: [{source: {namespaces: [other]}}]}]\n');
  const ap = await kubectl('apply', '-f', policy);
  assert.equal(ap.code, 0, ap.stderr);
  assert.match(ap.stdout, /authorizationpolicy\.ambient\.dev\/deny-web created/);
  const table = await kubectl('get', 'authorizationpolicies');
  assert.equal(table.code, 0, table.stderr);
  const [head, row] = table.stdout.trim().split('\n');
  assert.deepEqual(head!.split(/\s{2,}/), ['NAME', 'ACTION', 'ACCEPTED', 'ENFORCED', 'AGE']);
  assert.match(row!, /^deny-web\s+DENY\s+\d+s$/, "absent conditions are empty cells");
  assert.equal((await kubectl('get', 'ap', 'deny-web', '-o', 'jsonpath={.spec.action}')).stdout, 'DENY', 'short name');
  assert.match((await kubectl('get', 'ambient')).stdout, /authorizationpolicy\.ambient\.dev\/deny-web/, 'category');

  // kubectl validates strictly by default: a typo is refused, naming it.
  const typo = join(dir, 'typo.yaml');
  writeFileSync(typo, 'apiVersion: ambient.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: typo}\nspec:\n  action: DENY\n  rule: [{}]\n');
  const refused = await kubectl('apply', '-f', typo);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /unknown field "spec\.rule"/);
  // A CEL rule's message reaches the user.
  const both = join(dir, 'both.yaml');
  writeFileSync(both, 'apiVersion: ambient.dev/v1\nkind: AuthorizationPolicy\nmetadata: {name: both}\nspec:\n  selector: {matchLabels: {app: web}}\n  targetRefs: [{kind: Service, name: web}]\n');
  const cel = await kubectl('apply', '-f', both);
  assert.notEqual(cel.code, 0);
  assert.match(cel.stderr, /spec: Invalid value: "object": only one of targetRefs or workloadSelector can be set/);

  const rollout = join(dir, 'rollout.yaml');
  writeFileSync(rollout, 'apiVersion: ambient.dev/v1\nkind: Rollout\nmetadata: {name: echo}\nspec: {service: echo, stable: echo-v1, canary: echo-v2, steps: [10, 50, 100]}\n');
  assert.equal((await kubectl('apply', '-f', rollout)).code, 0);
  const ro = await kubectl('get', 'rollouts');
  assert.deepEqual(ro.stdout.split('\n')[0]!.split(/\s{2,}/), ['NAME', 'SERVICE', 'PHASE', 'STEP', 'WEIGHT', 'AGE']);
  assert.deepEqual((await kubectl('get', 'rollouts', '-o', 'wide')).stdout.split('\n')[0]!.split(/\s{2,}/), ['NAME', 'SERVICE', 'PHASE', 'STEP', 'WEIGHT', 'MESSAGE', 'AGE']);

  // Installing again is a no-op; the helper tests use agrees.
  assert.equal((await kubectl('apply', '-f', join(REPO, 'manifests/crds.yaml'))).code, 0);
  await installMeshCrds(kubeConfigForServer(s.url));
});
