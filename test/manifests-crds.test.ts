// Unit tier: manifests/crds.yaml, read as a cluster reads it. Every ambient.dev kind the
// controller watches or drives has a CRD; each is valid and structural (as kube-apiserver
// checks a CRD), names agree, it has a status subresource and printer columns, its CEL rules
// compile; its schema takes every ambient.dev object the docs and samples show, and
// refuses, naming the field, what the controller's compilers would refuse for the same
// reason (selector with targetRefs, CUSTOM without provider, durations, steps ...).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { WATCHED_KINDS } from '../controller/cluster-watch.js';
import { ruleCompileErrors } from '../local-cluster/apiserver/cel-rules.js';
import { kindOfCrd, validateCrd } from '../local-cluster/apiserver/crd.js';
import type { KObject, KindInfo } from '../local-cluster/apiserver/kinds.js';
import { pruneUnknown, structuralErrors, type Schema } from '../local-cluster/apiserver/structural-schema.js';
import { toTable } from '../local-cluster/apiserver/table.js';
import { validateObject } from '../local-cluster/apiserver/validation.js';
import { REPO } from './support/e2e.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

const CRDS: Any[] = parseAllDocuments(readFileSync(join(REPO, 'manifests/crds.yaml'), 'utf8'))
  .map((d) => d.toJS())
  .filter(Boolean);
const KINDS = new Map<string, KindInfo>(CRDS.map((c) => [c.spec.names.kind, kindOfCrd(c)!]));

/** What the API server answers for `obj` of kind `kind`: undeclared fields (pruned), then field errors. */
function admit(obj: KObject, old?: KObject): string[] {
  const k = KINDS.get(String(obj.kind));
  assert.ok(k, `no CRD for ${obj.kind}`);
  const { value, unknown } = pruneUnknown(obj, k.schema!);
  return [...unknown.map((f) => `${f}: unknown field`), ...validateObject(k, value as KObject, old).map((c) => `${c.field}: ${c.message}`)];
}
const mesh = (kind: string, spec: unknown, status?: unknown) => admit({ apiVersion: 'ambient.dev/v1', kind, metadata: { name: 'p', namespace: 'd' }, spec, ...(status !== undefined ? { status } : {}) });

test('every_ambient_dev_kind_the_mesh_uses_has_a_crd', () => {
  const used = Object.values(WATCHED_KINDS).filter((k) => k.apiVersion === 'ambient.dev/v1').map((k) => k.kind);
  assert.deepEqual([...KINDS.keys()].sort(), [...used, 'Rollout'].sort());
  for (const c of CRDS) {
    assert.equal(c.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(c.metadata.name, `${c.spec.names.plural}.${c.spec.group}`, 'metadata.name is plural.group');
    assert.equal(c.spec.group, 'ambient.dev');
    assert.equal(c.spec.scope, 'Namespaced');
    assert.equal(c.spec.names.listKind, `${c.spec.names.kind}List`);
    assert.equal(c.spec.names.singular, c.spec.names.kind.toLowerCase());
    assert.deepEqual(c.spec.names.categories, ['ambient']);
    assert.equal(c.spec.names.shortNames.length, 1);
  }
});

test('every_crd_is_valid_structural_with_status_printer_columns_and_compiling_rules', () => {
  for (const c of CRDS) {
    const name = c.metadata.name;
    assert.deepEqual(validateCrd(c, undefined, []), [], name);
    assert.equal(c.spec.versions.length, 1, name);
    const v = c.spec.versions[0];
    assert.equal(v.name, 'v1');
    assert.ok(v.served && v.storage, name);
    assert.deepEqual(v.subresources, { status: {} }, `${name} has a status subresource`);
    const schema = v.schema.openAPIV3Schema as Schema;
    assert.deepEqual(structuralErrors(schema, name), [], name);
    assert.deepEqual(ruleCompileErrors(schema, name), [], name);
    assert.equal(schema.properties?.['status']?.type, 'object', `${name} declares its status`);
    const cols = v.additionalPrinterColumns.map((x: Any) => x.name);
    assert.ok(cols.length >= 2, name);
    assert.equal(cols.at(-1), 'Age', `${name} ends with Age`);
  }
});

test('every_node_is_typed_or_preserves_unknown_fields_and_no_map_has_properties_too', () => {
  // An independent walk of what structuralErrors checks, so a schema the checker waved
  // through by mistake still fails here.
  const walk = (s: Any, path: string): void => {
    assert.ok(s.type || s['x-kubernetes-preserve-unknown-fields'] || s['x-kubernetes-int-or-string'], `${path} has a type`);
    assert.ok(!(s.properties && s.additionalProperties), `${path}: properties and additionalProperties`);
    for (const k of ['allOf', 'anyOf', 'oneOf', 'not', '$ref']) assert.ok(!(k in s), `${path}.${k}`);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}.*`);
    if (s.items) walk(s.items, `${path}[]`);
  };
  for (const c of CRDS) walk(c.spec.versions[0].schema.openAPIV3Schema, c.metadata.name);
});

/** YAML documents of ambient.dev kinds in the docs (```yaml blocks), README and samples. */
function shownObjects(): Array<{ where: string; obj: KObject }> {
  const out: Array<{ where: string; obj: KObject }> = [];
  const fromYaml = (where: string, text: string) => {
    for (const d of parseAllDocuments(text)) {
      const o = d.toJS() as KObject | null;
      if (o && typeof o === 'object' && o.apiVersion === 'ambient.dev/v1') out.push({ where, obj: o });
    }
  };
  const files = (dir: string): string[] => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : [join(dir, n)]));
  for (const f of [join(REPO, 'README.md'), ...files(join(REPO, 'docs')).filter((f) => f.endsWith('.md'))]) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/```ya?ml\n([\s\S]*?)```/g)) {
      if (!m[1]!.includes('ambient.dev/v1')) continue;
      try {
        fromYaml(`${f.slice(REPO.length)}:${text.slice(0, m.index).split('\n').length}`, m[1]!);
      } catch {
        // a fragment (not a whole object) shown for one field
      }
    }
  }
  for (const f of files(join(REPO, 'samples')).filter((f) => /\.ya?ml$/.test(f))) fromYaml(f.slice(REPO.length), readFileSync(f, 'utf8'));
  return out;
}

test('the_schemas_take_every_ambient_dev_object_the_docs_and_samples_show', () => {
  const shown = shownObjects();
  assert.ok(shown.length >= 7, `found ${shown.length} objects`);
  assert.ok(new Set(shown.map((s) => s.obj.kind)).size >= 4, 'several kinds are shown');
  for (const { where, obj } of shown) {
    const o = { ...obj, metadata: { namespace: 'default', ...obj.metadata } };
    assert.deepEqual(admit(o), [], `${where}: ${obj.kind} ${obj.metadata?.name}`);
  }
});

test('status_as_the_controller_writes_it_is_taken', () => {
  const conditions = [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'The policy is valid and compiled.', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
    { type: 'Enforced', status: 'True', reason: 'Enforced', message: 'Enforced by node agents.', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
  ];
  for (const kind of ['AuthorizationPolicy', 'RequestAuthentication', 'PeerAuthentication']) assert.deepEqual(mesh(kind, {}, { conditions }), [], kind);
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: [{ kind: 'Service', name: 'e' }] }, { conditions }), []);
  const rollout = { service: 'echo', stable: 'v1', canary: 'v2' };
  assert.deepEqual(mesh('Rollout', rollout, { phase: 'Progressing', canaryWeight: 25, step: 1, message: 'step 2 of 4', stepStartedAt: new Date(0).toISOString(), revision: 'abc', failedGate: { gate: 'minSuccessRate', measured: 0.5, threshold: 0.99 }, observedGeneration: 3 }), []);
  assert.deepEqual(mesh('Rollout', rollout, { message: 'invalid spec: spec.steps: ...', observedGeneration: 2 }), []);
  assert.deepEqual(mesh('AuthorizationPolicy', {}, { conditions: [conditions[0], conditions[0]] }), ['status.conditions[1]: Duplicate value: {"type":"Accepted"}']);
  assert.deepEqual(mesh('Rollout', rollout, { phase: 'Done' }), ['status.phase: Unsupported value: "Done": supported values: "Progressing", "Paused", "Succeeded", "RolledBack"']);
});

test('printer_columns_show_action_conditions_and_rollout_progress', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const ap = { metadata: { name: 'deny-all', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { action: 'DENY' }, status: { conditions: [{ type: 'Accepted', status: 'True' }, { type: 'Enforced', status: 'False' }] } };
  const t = toTable(KINDS.get('AuthorizationPolicy')!, [ap], { now }) as Any;
  assert.deepEqual(t.columnDefinitions.map((c: Any) => c.name), ['Name', 'Action', 'Accepted', 'Enforced', 'Age']);
  assert.deepEqual(t.rows[0].cells, ['deny-all', 'DENY', 'True', 'False', '10m']);
  const ro = { metadata: { name: 'echo', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { service: 'echo' }, status: { phase: 'Progressing', step: 1, canaryWeight: 25, message: 'm' } };
  const r = toTable(KINDS.get('Rollout')!, [ro], { now }) as Any;
  assert.deepEqual(r.columnDefinitions.map((c: Any) => [c.name, c.type, c.priority]), [['Name', 'string', 0], ['Service', 'string', 0], ['Phase', 'string', 0], ['Step', 'integer', 0], ['Weight', 'integer', 0], ['Message', 'string', 1], ['Age', 'date', 0]]);
  assert.deepEqual(r.rows[0].cells, ['echo', 'echo', 'Progressing', 1, 25, 'm', '10m']);
  const fresh = toTable(KINDS.get('PeerAuthentication')!, [{ metadata: { name: 'p', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: {} }], { now }) as Any;
  assert.deepEqual(fresh.rows[0].cells, ['p', null, '10m'], 'an absent value is a null cell, as kube-apiserver sends it');
});

// --- what each schema refuses, named as kube-apiserver names it ---

test('authorization_policy_with_istio_shape_is_valid', () => {
  const spec = {
    selector: { matchLabels: { app: 'echo' } },
    action: 'ALLOW',
    rules: [
      {
        from: [{ source: { principals: ['cluster.local/ns/a/sa/client'], notNamespaces: ['b'], ipBlocks: ['10.0.0.0/8'], notRemoteIpBlocks: ['1.2.3.4'] } }],
        to: [{ operation: { ports: ['8080'], methods: ['GET'], paths: ['/x'], notHosts: ['h'] } }],
        when: [{ key: 'source.ip', values: ['10.0.0.1'], notValues: [] }],
      },
    ],
  };
  assert.deepEqual(mesh('AuthorizationPolicy', spec), []);
  assert.deepEqual(mesh('AuthorizationPolicy', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }], action: 'DENY', rules: [{}] }), []);
  assert.deepEqual(mesh('AuthorizationPolicy', {}), [], 'allow-nothing');
  assert.deepEqual(mesh('AuthorizationPolicy', { action: 'CUSTOM', provider: { name: 'ext' } }), [], 'CUSTOM is declared (the controller reports it unsupported)');
});

test('authorization_policy_with_wrongly_typed_fields_is_refused_naming_each_field', () => {
  assert.deepEqual(mesh('AuthorizationPolicy', { rules: [{ to: 42 }] }), ['spec.rules[0].to: Invalid value: "integer": spec.rules[0].to in body must be of type array: "integer"']);
  assert.deepEqual(mesh('AuthorizationPolicy', { rules: [{ from: [{ source: { principals: 7 } }] }] }), [
    'spec.rules[0].from[0].source.principals: Invalid value: "integer": spec.rules[0].from[0].source.principals in body must be of type array: "integer"',
  ]);
  assert.deepEqual(mesh('AuthorizationPolicy', { rules: [{ to: [{ operation: { ports: [8080] } }] }] }), [
    'spec.rules[0].to[0].operation.ports[0]: Invalid value: "integer": spec.rules[0].to[0].operation.ports[0] in body must be of type string: "integer"',
  ]);
  assert.deepEqual(mesh('AuthorizationPolicy', { rules: 'all' }).length, 1);
  assert.deepEqual(mesh('AuthorizationPolicy', { rules: [{ when: [{ values: ['x'] }] }] }), ['spec.rules[0].when[0].key: Required value']);
  assert.deepEqual(mesh('AuthorizationPolicy', { action: 'PERMIT' }), ['spec.action: Unsupported value: "PERMIT": supported values: "ALLOW", "DENY", "AUDIT", "CUSTOM"']);
  assert.deepEqual(mesh('AuthorizationPolicy', 'x'), ['spec: Invalid value: "string": spec in body must be of type object: "string"']);
});

test('authorization_policy_undeclared_fields_are_named', () => {
  // A typo (`rule` for `rules`) would otherwise leave a DENY policy denying nothing: the
  // API server refuses it under strict field validation (kubectl's default) and names it.
  assert.deepEqual(mesh('AuthorizationPolicy', { action: 'DENY', rule: [{}] }), ['spec.rule: unknown field']);
  assert.deepEqual(mesh('AuthorizationPolicy', { rules: [{ from: [{ source: { principal: ['x'] } }] }] }), ['spec.rules[0].from[0].source.principal: unknown field']);
});

test('authorization_policy_rules_the_schema_cannot_say_are_cel_rules', () => {
  const both = 'spec: Invalid value: "object": only one of targetRefs or workloadSelector can be set';
  assert.deepEqual(mesh('AuthorizationPolicy', { selector: { matchLabels: { a: 'b' } }, targetRef: { kind: 'Service', name: 's' } }), [both]);
  assert.deepEqual(mesh('AuthorizationPolicy', { selector: { matchLabels: { a: 'b' } }, targetRefs: [{ kind: 'Service', name: 's' }] }), [both]);
  assert.deepEqual(mesh('AuthorizationPolicy', { selector: { matchLabels: { a: 'b' } }, targetRefs: [] }), [], 'empty targetRefs count as none (as the compiler reads them)');
  assert.deepEqual(mesh('AuthorizationPolicy', { targetRef: { kind: 'Service', name: 's' }, targetRefs: [{ kind: 'Service', name: 't' }] }), ['spec: Invalid value: "object": set only targetRefs (targetRef is deprecated), not both']);
  assert.deepEqual(mesh('AuthorizationPolicy', { action: 'CUSTOM' }), ['spec: Invalid value: "object": action CUSTOM needs a provider']);
  assert.deepEqual(mesh('AuthorizationPolicy', { provider: { name: 'x' } }), ['spec: Invalid value: "object": provider is set only with action CUSTOM']);
  assert.deepEqual(mesh('AuthorizationPolicy', { targetRefs: [{ kind: 'Pod', name: 's' }] }), ['spec: Invalid value: "object": a target is a Service (group "") or a Gateway (group gateway.networking.k8s.io)']);
  assert.deepEqual(mesh('AuthorizationPolicy', { targetRefs: [{ kind: 'Gateway', name: 'w' }] }).length, 1, 'a Gateway names its group');
  assert.deepEqual(mesh('AuthorizationPolicy', { targetRef: { kind: 'Service' } }), ['spec.targetRef.name: Required value']);
  assert.deepEqual(mesh('AuthorizationPolicy', { selector: { matchLabels: { '*': 'x' } } }), ['spec.selector.matchLabels: Invalid value: "object": label keys must be non-empty and carry no wildcard']);
});

test('peer_authentication_labels_modes_and_port_level_mtls', () => {
  assert.deepEqual(mesh('PeerAuthentication', { selector: { matchLabels: { app: 5 } }, mtls: { mode: 'STRICT' } }), [
    'spec.selector.matchLabels.app: Invalid value: "integer": spec.selector.matchLabels.app in body must be of type string: "integer"',
  ]);
  assert.equal(mesh('PeerAuthentication', { selector: { matchLabels: { app: 'bad value!' } } }).length, 1, 'label value syntax');
  assert.deepEqual(mesh('PeerAuthentication', { mtls: 'STRICT' }), ['spec.mtls: Invalid value: "string": spec.mtls in body must be of type object: "string"']);
  assert.deepEqual(mesh('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } }), []);
  assert.deepEqual(mesh('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '8080': { mode: 'OFF' } } }), [
    'spec.portLevelMtls.8080.mode: Unsupported value: "OFF": supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"',
  ]);
  assert.deepEqual(mesh('PeerAuthentication', { selector: { matchLabels: { app: 'a' } }, portLevelMtls: { '0': { mode: 'STRICT' } } }), ['spec.portLevelMtls: Invalid value: "object": port must be between 1 and 65535, inclusive']);
  assert.deepEqual(mesh('PeerAuthentication', { portLevelMtls: { '8080': { mode: 'STRICT' } } }), ['spec.portLevelMtls: Invalid value: "object": portLevelMtls requires a workload selector']);
});

test('request_authentication_with_istio_shape_is_valid_and_typed_fields_are_checked', () => {
  const rule = { issuer: 'https://idp.example', audiences: ['a'], jwksUri: 'https://idp.example/jwks', fromHeaders: [{ name: 'x-jwt', prefix: 'Bearer ' }], fromParams: ['t'], outputPayloadToHeader: 'x-payload', forwardOriginalToken: true, outputClaimToHeaders: [{ header: 'x-sub', claim: 'sub' }] };
  assert.deepEqual(mesh('RequestAuthentication', { targetRefs: [{ kind: 'Service', name: 'web' }], jwtRules: [rule] }), []);
  assert.deepEqual(mesh('RequestAuthentication', { jwtRules: [{ jwksUri: 'https://x' }] }), ['spec.jwtRules[0].issuer: Required value']);
  assert.equal(mesh('RequestAuthentication', { jwtRules: [{ issuer: 'i', forwardOriginalToken: 'yes' }] }).length, 1);
  assert.equal(mesh('RequestAuthentication', { jwtRules: [{ issuer: 'i', timeout: '5 seconds' }] }).length, 1);
  assert.equal(mesh('RequestAuthentication', { selector: { matchLabels: { app: 'web' } }, targetRefs: [{ kind: 'Service', name: 'web' }] }).length, 1);
});

test('traffic_policy_of_the_issue_shape_is_valid', () => {
  const spec = {
    targetRefs: [{ group: '', kind: 'Service', name: 'echo', sectionName: 'http' }],
    loadBalancer: { algorithm: 'RING_HASH', consistentHash: { cookie: { name: 'c', ttl: '1h' } }, warmupDuration: '30s' },
    connectionPool: { maxConnections: 100, maxPendingRequests: 64, maxRequestsPerConnection: 0, maxConcurrentRequests: 1000, idleTimeout: '60s', connectTimeout: '5s' },
    outlierDetection: { consecutive5xxErrors: 5, consecutiveGatewayErrors: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50, minHealthPercent: 0, successRate: { stdevFactor: 1.9 } },
    retries: { attempts: 3, perTryTimeout: '2s', retryOn: ['gateway-error', 'reset', 'connect-failure'], backoff: { base: '25ms', max: '250ms' }, budget: { percent: 20, minRetriesPerSecond: 3 } },
    timeouts: { idle: '30s' },
    rateLimits: { local: { requests: 100, per: '1s', burst: 200 }, global: { requests: 1000, per: '1m', key: ['sourcePrincipal'], failureMode: 'allow' } },
  };
  assert.deepEqual(mesh('TrafficPolicy', spec), []);
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: [{ kind: 'Service', name: 'e' }], retries: { budget: { percent: 12.5 }, perTryTimeout: '1.5s' } }), []);
});

test('traffic_policy_schema_refuses_wrong_types_enums_durations_and_non_service_targets', () => {
  const svc = [{ kind: 'Service', name: 'e' }];
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: [{ kind: 'Service', name: 3 }] }), ['spec.targetRefs[0].name: Invalid value: "integer": spec.targetRefs[0].name in body must be of type string: "integer"']);
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: svc, anything: 1 }), ['spec.anything: unknown field']);
  assert.equal(mesh('TrafficPolicy', { targetRefs: svc, loadBalancer: { algorithm: 'LEAST_CONN' } }).length, 1);
  assert.equal(mesh('TrafficPolicy', { targetRefs: svc, outlierDetection: { maxEjectionPercent: 101 } }).length, 1);
  assert.equal(mesh('TrafficPolicy', { targetRefs: svc, rateLimits: { global: { requests: 1, per: '1s', failureMode: 'open' } } }).length, 1);
  assert.equal(mesh('TrafficPolicy', { targetRefs: svc, retries: { budget: { percent: '20%' } } }).length, 1);
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: svc, outlierDetection: { interval: '10x' } }), [
    "spec.outlierDetection.interval: Invalid value: \"10x\": spec.outlierDetection.interval in body should match '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$'",
  ]);
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'w' }] }), ['spec.targetRefs: Invalid value: "array": a TrafficPolicy targets Services (kind Service, group "")']);
  assert.deepEqual(mesh('TrafficPolicy', { targetRefs: [] }), ['spec.targetRefs: Invalid value: 0: spec.targetRefs in body should have at least 1 items']);
  assert.deepEqual(mesh('TrafficPolicy', {}), ['spec.targetRefs: Required value']);
  assert.deepEqual(admit({ apiVersion: 'ambient.dev/v1', kind: 'TrafficPolicy', metadata: { name: 'p', namespace: 'd' } }), ['spec: Required value']);
});

test('rollout_of_the_issue_shape_is_valid_and_its_rules_hold', () => {
  assert.deepEqual(mesh('Rollout', { service: 'echo', stable: 'echo-v1', canary: 'echo-v2', steps: [5, 25, 50, 100], interval: '30s', gates: { minSuccessRate: 0.99, maxP99Latency: '500ms', minRequests: 20 }, paused: false, abort: false }), []);
  assert.deepEqual(mesh('Rollout', { stable: 'a', canary: 'b', steps: [100] }), ['spec.service: Required value']);
  assert.deepEqual(mesh('Rollout', { service: 'echo', stable: 'v1', canary: 'v2', gates: { minSuccessRate: 2 } }), ['spec.gates.minSuccessRate: Invalid value: 2: spec.gates.minSuccessRate in body should be less than or equal to 1']);
  assert.equal(mesh('Rollout', { service: 's', stable: 'a', canary: 'b', steps: [101] }).length, 1);
  assert.deepEqual(mesh('Rollout', { service: 's', stable: 'a', canary: 'b', steps: [50, 25] }), ['spec.steps: Invalid value: "array": steps must increase']);
  assert.deepEqual(mesh('Rollout', { service: 's', stable: 'a', canary: 'b', steps: [25, 25] }), ['spec.steps[1]: Duplicate value: 25']);
  assert.deepEqual(mesh('Rollout', { service: 's', stable: 'a', canary: 'a', steps: [100] }), ['spec.canary: Invalid value: "object": canary must differ from stable']);
  assert.deepEqual(mesh('Rollout', { service: 's', stable: 'a', canary: 'b', steps: [] }), ['spec.steps: Invalid value: 0: spec.steps in body should have at least 1 items']);
  assert.equal(mesh('Rollout', { service: 'S_1', stable: 'a', canary: 'b' }).length, 1, 'a Service name is a DNS label');
  assert.equal(mesh('Rollout', { service: 's', stable: 'a', canary: 'b', interval: 'soon' }).length, 1);
});
