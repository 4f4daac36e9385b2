// manifests/rbac.yaml against the programs' own code: no wildcard, no verb the code never
// uses, no call the manifest does not grant, no list or watch of every object where the
// code selects one by name (scripts/rbac/). The calls are read from the
// sources each program's main.ts imports, so a new call or a removed one shows here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { KObject } from '../local-cluster/apiserver/kinds.js';
import { serviceAccountSubject } from '../local-cluster/apiserver/rbac.js';
import { checkRbac, type Component } from '../scripts/rbac/check.js';
import { repoRoot, scanKubeCalls } from '../scripts/rbac/kube-calls.js';
import { meshRbacDocuments } from './support/mesh-rbac.js';

const ROOT = repoRoot();
/** Each program and the ServiceAccount it runs as (a waypoint's is named after its Gateway, in any namespace). */
const PROGRAMS = {
  controller: { entry: 'controller/main.ts', subject: serviceAccountSubject('ambient-system', 'ambient-controller') },
  'node-agent': { entry: 'node-agent/main.ts', subject: serviceAccountSubject('ambient-system', 'ambient-node-agent') },
  waypoint: { entry: 'waypoint/main.ts', subject: serviceAccountSubject('apps', 'waypoint') },
} as const;

test('manifests_rbac_grants_exactly_what_the_programs_code_calls_without_wildcards', () => {
  const scans = scanKubeCalls(Object.fromEntries(Object.entries(PROGRAMS).map(([name, p]) => [name, join(ROOT, p.entry)])), ROOT);
  // Every call must be understood, or the comparison below would miss it.
  for (const [name, s] of Object.entries(scans)) assert.deepEqual(s.unresolved, [], `${name}: calls whose resource the scan cannot tell`);
  // The scan sees the calls it must (it is not comparing nothing with nothing).
  const has = (name: keyof typeof PROGRAMS, verb: string, resource: string) => scans[name]!.calls.some((c) => c.verb === verb && c.resource === resource);
  assert.ok(has('controller', 'get', 'secrets') && has('controller', 'update', 'leases') && has('controller', 'watch', 'pods') && has('controller', 'patch', 'rollouts/status'));
  assert.ok(has('node-agent', 'list', 'peerauthentications') && has('waypoint', 'get', 'configmaps'));
  // The agent watches its own DaemonSet by name (so its rule can name it: resourceNames).
  assert.ok(scans['node-agent']!.calls.some((c) => c.verb === 'watch' && c.resource === 'daemonsets' && c.byName), 'node-agent/uninstall/daemonset.ts watches its DaemonSet by fieldSelector metadata.name');
  const components: Component[] = Object.entries(PROGRAMS).map(([name, p]) => ({ name, subject: p.subject, calls: scans[name]!.calls }));
  assert.deepEqual(checkRbac(meshRbacDocuments() as unknown as KObject[], components), []);
});
