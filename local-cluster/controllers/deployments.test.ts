// Unit tests of the Deployment controller's plan: scaling, spreading, rolling updates, status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { isPodReady, planDeployment, templateHash, TEMPLATE_HASH_LABEL } from './deployments.js';

function deployment(opts: { replicas?: number; image?: string; generation?: number; annotations?: Record<string, string> } = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-web', ...(opts.generation !== undefined ? { generation: opts.generation } : {}) },
    spec: {
      ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', tier: 'front' }, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
        spec: {
          containers: [{ name: 'main', image: opts.image ?? 'ambient-samples/echo:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  };
}

interface PodOpts {
  node?: string | null;
  phase?: string;
  ready?: boolean;
  created?: string;
  deleting?: boolean;
}

/** A pod owned by `web`, of template hash `hash`; scheduled, running and ready unless told otherwise. */
function pod(name: string, hash: string, o: PodOpts = {}): V1Pod {
  const node = o.node === undefined ? 'n1' : o.node;
  const phase = o.phase ?? 'Running';
  const ready = o.ready ?? true;
  return {
    metadata: {
      name,
      namespace: 'shop',
      labels: { app: 'web', [TEMPLATE_HASH_LABEL]: hash },
      creationTimestamp: new Date(o.created ?? '2024-01-01T00:00:00Z'),
      ...(o.deleting ? { deletionTimestamp: new Date('2024-01-02T00:00:00Z') } : {}),
    },
    spec: { containers: [{ name: 'main' }], ...(node ? { nodeName: node } : {}) },
    status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

function pods(prefix: string, n: number, hash: string, o: PodOpts = {}): V1Pod[] {
  return Array.from({ length: n }, (_, i) => pod(`${prefix}${i}`, hash, o));
}

const NODES = ['n1', 'n2', 'n3'];

// --- templateHash / isPodReady ---

test('template_hash_is_stable_for_the_same_template', () => {
  assert.equal(templateHash(deployment()), templateHash(deployment()));
  assert.match(templateHash(deployment()), /^[0-9a-f]{10}$/);
});

test('template_hash_ignores_replicas_and_metadata_outside_the_template', () => {
  const a = deployment({ replicas: 1, generation: 1 });
  const b = deployment({ replicas: 5, generation: 9 });
  assert.equal(templateHash(a), templateHash(b));
});

test('template_hash_changes_with_the_template_spec', () => {
  assert.notEqual(templateHash(deployment({ image: 'ambient-samples/echo:1' })), templateHash(deployment({ image: 'ambient-samples/echo:2' })));
});

test('template_hash_changes_with_the_template_labels', () => {
  const d = deployment();
  const h = templateHash(d);
  d.spec!.template.metadata!.labels!['tier'] = 'back';
  assert.notEqual(templateHash(d), h);
});

test('is_pod_ready_needs_running_and_a_true_ready_condition', () => {
  assert.equal(isPodReady(pod('p', 'h')), true);
  assert.equal(isPodReady(pod('p', 'h', { ready: false })), false);
  assert.equal(isPodReady(pod('p', 'h', { phase: 'Pending' })), false);
  assert.equal(isPodReady({ status: { phase: 'Running' } }), false);
  assert.equal(isPodReady({}), false);
});

// --- scale up ---

test('plan_deployment_scales_up_from_zero_creating_replicas_pods', () => {
  const plan = planDeployment(deployment({ replicas: 3 }), [], NODES, new Map());
  assert.equal(plan.create.length, 3);
  assert.deepEqual(plan.delete, []);
});

test('plan_deployment_defaults_to_one_replica', () => {
  const plan = planDeployment(deployment(), [], NODES, new Map());
  assert.equal(plan.create.length, 1);
});

test('plan_deployment_with_zero_replicas_creates_nothing', () => {
  const plan = planDeployment(deployment({ replicas: 0 }), [], NODES, new Map());
  assert.equal(plan.create.length, 0);
});

test('plan_deployment_creates_only_replicas_minus_existing', () => {
  const d = deployment({ replicas: 4 });
  const plan = planDeployment(d, pods('web-x-', 1, templateHash(d)), NODES, new Map());
  assert.equal(plan.create.length, 3);
  assert.deepEqual(plan.delete, []);
});

test('plan_deployment_at_desired_count_does_nothing', () => {
  const d = deployment({ replicas: 2 });
  const plan = planDeployment(d, pods('web-x-', 2, templateHash(d)), NODES, new Map());
  assert.deepEqual(plan.create, []);
  assert.deepEqual(plan.delete, []);
});

test('plan_deployment_scales_up_spreading_over_nodes', () => {
  const plan = planDeployment(deployment({ replicas: 3 }), [], NODES, new Map());
  assert.deepEqual(plan.create.map((p) => p.spec!.nodeName).sort(), ['n1', 'n2', 'n3']);
});

test('plan_deployment_scales_up_onto_the_least_loaded_nodes_first', () => {
  const load = new Map([
    ['n1', 2],
    ['n2', 0],
    ['n3', 1],
  ]);
  const plan = planDeployment(deployment({ replicas: 2 }), [], NODES, load);
  assert.deepEqual(
    plan.create.map((p) => p.spec!.nodeName),
    ['n2', 'n2'],
  );
});

test('plan_deployment_updates_the_shared_load_map', () => {
  const load = new Map<string, number>();
  planDeployment(deployment({ replicas: 4 }), [], NODES, load);
  assert.deepEqual([...load].sort(), [
    ['n1', 2],
    ['n2', 1],
    ['n3', 1],
  ]);
});

test('plan_deployment_shared_load_map_spreads_across_deployments', () => {
  const load = new Map<string, number>();
  const a = planDeployment(deployment({ replicas: 1 }), [], NODES, load);
  const b = planDeployment(deployment({ replicas: 1, image: 'other' }), [], NODES, load);
  assert.equal(a.create[0]!.spec!.nodeName, 'n1');
  assert.equal(b.create[0]!.spec!.nodeName, 'n2');
});

test('plan_deployment_with_no_nodes_creates_nothing', () => {
  const plan = planDeployment(deployment({ replicas: 3 }), [], [], new Map());
  assert.deepEqual(plan.create, []);
  assert.deepEqual(plan.delete, []);
});

// --- created pod shape ---

test('created_pod_has_generate_name_with_deployment_and_hash', () => {
  const d = deployment({ replicas: 1 });
  const [p] = planDeployment(d, [], NODES, new Map()).create;
  assert.equal(p!.metadata!.generateName, `web-${templateHash(d)}-`);
  assert.equal(p!.metadata!.name, undefined);
  assert.equal(p!.metadata!.namespace, 'shop');
  assert.equal(p!.apiVersion, 'v1');
  assert.equal(p!.kind, 'Pod');
});

test('created_pod_has_template_labels_and_pod_template_hash', () => {
  const d = deployment({ replicas: 1 });
  const [p] = planDeployment(d, [], NODES, new Map()).create;
  assert.deepEqual(p!.metadata!.labels, { app: 'web', tier: 'front', [TEMPLATE_HASH_LABEL]: templateHash(d) });
});

test('created_pod_carries_template_annotations', () => {
  const d = deployment({ replicas: 1, annotations: { 'x/y': 'z' } });
  const [p] = planDeployment(d, [], NODES, new Map()).create;
  assert.deepEqual(p!.metadata!.annotations, { 'x/y': 'z' });
});

test('created_pod_has_no_annotations_when_the_template_has_none', () => {
  const [p] = planDeployment(deployment({ replicas: 1 }), [], NODES, new Map()).create;
  assert.equal(p!.metadata!.annotations, undefined);
});

test('created_pod_is_owned_by_the_deployment_as_controller', () => {
  const [p] = planDeployment(deployment({ replicas: 1 }), [], NODES, new Map()).create;
  assert.deepEqual(p!.metadata!.ownerReferences, [
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true },
  ]);
});

test('created_pod_has_the_template_spec_and_its_node', () => {
  const d = deployment({ replicas: 1 });
  const [p] = planDeployment(d, [], ['n9'], new Map()).create;
  assert.deepEqual(p!.spec, { ...d.spec!.template.spec!, nodeName: 'n9' });
  assert.equal(d.spec!.template.spec!.nodeName, undefined);
});

test('created_pod_spec_is_a_copy_not_an_alias_of_the_template', () => {
  const d = deployment({ replicas: 2 });
  const before = structuredClone(d);
  const [p, q] = planDeployment(d, [], NODES, new Map()).create;
  p!.spec!.containers[0]!.image = 'mutated';
  p!.spec!.containers[0]!.env![0]!.value = 'mutated';
  p!.spec!.containers.push({ name: 'extra' });
  assert.deepEqual(d, before);
  assert.equal(q!.spec!.containers[0]!.image, 'ambient-samples/echo:1');
});

test('created_pod_metadata_is_a_copy_not_an_alias_of_the_template', () => {
  const d = deployment({ replicas: 1, annotations: { a: '1' } });
  const before = structuredClone(d);
  const [p] = planDeployment(d, [], NODES, new Map()).create;
  p!.metadata!.labels!['app'] = 'mutated';
  p!.metadata!.annotations!['a'] = 'mutated';
  assert.deepEqual(d, before);
});

// --- scale down ---

test('plan_deployment_scales_down_deleting_the_excess', () => {
  const d = deployment({ replicas: 1 });
  const h = templateHash(d);
  const plan = planDeployment(d, pods('web-x-', 3, h), NODES, new Map());
  assert.equal(plan.delete.length, 2);
  assert.deepEqual(plan.create, []);
});

test('plan_deployment_scale_to_zero_deletes_all', () => {
  const d = deployment({ replicas: 0 });
  const h = templateHash(d);
  const plan = planDeployment(d, pods('web-x-', 2, h), NODES, new Map());
  assert.deepEqual(plan.delete.sort(), ['web-x-0', 'web-x-1']);
});

test('plan_deployment_scale_down_deletes_the_newest_ready_pods_first', () => {
  const d = deployment({ replicas: 1 });
  const h = templateHash(d);
  const owned = [
    pod('old', h, { created: '2024-01-01T00:00:00Z' }),
    pod('newest', h, { created: '2024-01-03T00:00:00Z' }),
    pod('mid', h, { created: '2024-01-02T00:00:00Z' }),
  ];
  const plan = planDeployment(d, owned, NODES, new Map());
  assert.deepEqual(plan.delete, ['newest', 'mid']);
});

test('plan_deployment_scale_down_deletes_not_ready_before_ready', () => {
  const d = deployment({ replicas: 2 });
  const h = templateHash(d);
  const owned = [
    pod('ready-new', h, { created: '2024-01-05T00:00:00Z' }),
    pod('unready-old', h, { ready: false, created: '2024-01-01T00:00:00Z' }),
    pod('ready-old', h, { created: '2024-01-02T00:00:00Z' }),
  ];
  assert.deepEqual(planDeployment(d, owned, NODES, new Map()).delete, ['unready-old']);
});

test('plan_deployment_scale_down_deletes_unscheduled_then_pending_then_unready', () => {
  const d = deployment({ replicas: 1 });
  const h = templateHash(d);
  const owned = [
    pod('ready', h, { created: '2024-01-09T00:00:00Z' }),
    pod('unready', h, { ready: false }),
    pod('pending', h, { phase: 'Pending', ready: false }),
    pod('unscheduled', h, { node: null, phase: 'Pending', ready: false }),
  ];
  assert.deepEqual(planDeployment(d, owned, NODES, new Map()).delete, ['unscheduled', 'pending', 'unready']);
});

test('plan_deployment_scale_down_does_not_touch_the_load_map', () => {
  const d = deployment({ replicas: 1 });
  const load = new Map([['n1', 3]]);
  planDeployment(d, pods('web-x-', 3, templateHash(d)), NODES, load);
  assert.deepEqual([...load], [['n1', 3]]);
});

// --- deletionTimestamp ---

test('plan_deployment_ignores_pods_being_deleted', () => {
  const d = deployment({ replicas: 2 });
  const h = templateHash(d);
  const owned = [pod('a', h), pod('gone1', h, { deleting: true }), pod('gone2', h, { deleting: true })];
  const plan = planDeployment(d, owned, NODES, new Map());
  assert.equal(plan.create.length, 1);
  assert.deepEqual(plan.delete, []);
  assert.equal(plan.status.replicas, 1);
});

test('plan_deployment_does_not_delete_old_pods_already_being_deleted', () => {
  const d = deployment({ replicas: 1 });
  const h = templateHash(d);
  const owned = [pod('new', h), pod('old', 'oldhash', { deleting: true })];
  assert.deepEqual(planDeployment(d, owned, NODES, new Map()).delete, []);
});

// --- rolling update ---

test('rolling_update_creates_pods_of_the_new_hash_keeping_old_ready_pods', () => {
  const d = deployment({ replicas: 3, image: 'ambient-samples/echo:2' });
  const h = templateHash(d);
  const plan = planDeployment(d, pods('web-old-', 3, 'oldhash'), NODES, new Map());
  assert.equal(plan.create.length, 3);
  for (const p of plan.create) {
    assert.equal(p.metadata!.labels![TEMPLATE_HASH_LABEL], h);
    assert.equal(p.metadata!.generateName, `web-${h}-`);
    assert.equal(p.spec!.containers[0]!.image, 'ambient-samples/echo:2');
  }
  assert.deepEqual(plan.delete, []);
});

test('rolling_update_deletes_old_not_ready_pods_at_once', () => {
  const d = deployment({ replicas: 2 });
  const owned = [pod('old-ready', 'oldhash'), pod('old-unready', 'oldhash', { ready: false }), pod('old-pending', 'oldhash', { phase: 'Pending', ready: false })];
  const plan = planDeployment(d, owned, NODES, new Map());
  assert.deepEqual(plan.delete.sort(), ['old-pending', 'old-unready']);
  assert.equal(plan.create.length, 2);
});

test('rolling_update_keeps_old_ready_pods_while_new_ones_are_not_ready', () => {
  const d = deployment({ replicas: 2 });
  const h = templateHash(d);
  const owned = [...pods('old-', 2, 'oldhash'), ...pods('new-', 2, h, { ready: false })];
  const plan = planDeployment(d, owned, NODES, new Map());
  assert.deepEqual(plan.delete, []);
  assert.deepEqual(plan.create, []);
});

test('rolling_update_deletes_one_old_ready_pod_per_new_ready_pod', () => {
  const d = deployment({ replicas: 3 });
  const h = templateHash(d);
  const owned = [
    pod('old-a', 'oldhash', { created: '2024-01-01T00:00:00Z' }),
    pod('old-b', 'oldhash', { created: '2024-01-02T00:00:00Z' }),
    pod('old-c', 'oldhash', { created: '2024-01-03T00:00:00Z' }),
    pod('new-0', h),
    ...pods('new-u', 2, h, { ready: false }),
  ];
  const plan = planDeployment(d, owned, NODES, new Map());
  assert.deepEqual(plan.delete, ['old-c']);
});

test('rolling_update_deletes_all_old_pods_once_new_ones_are_ready', () => {
  const d = deployment({ replicas: 2 });
  const h = templateHash(d);
  const owned = [...pods('old-', 2, 'oldhash'), ...pods('new-', 2, h)];
  const plan = planDeployment(d, owned, NODES, new Map());
  assert.deepEqual(plan.delete.sort(), ['old-0', 'old-1']);
  assert.deepEqual(plan.create, []);
});

test('rolling_update_never_drops_ready_count_below_replicas', () => {
  const replicas = 3;
  const d = deployment({ replicas });
  const h = templateHash(d);
  for (let newReady = 0; newReady <= replicas; newReady++) {
    for (let oldReady = 0; oldReady <= replicas; oldReady++) {
      const owned = [
        ...pods('old-r', oldReady, 'oldhash'),
        ...pods('old-u', 1, 'oldhash', { ready: false }),
        ...pods('new-r', newReady, h),
        ...pods('new-u', replicas - newReady, h, { ready: false }),
      ];
      const plan = planDeployment(d, owned, NODES, new Map());
      const deleted = new Set(plan.delete);
      const readyAfter = owned.filter((p) => isPodReady(p) && !deleted.has(p.metadata!.name!)).length;
      const readyBefore = owned.filter(isPodReady).length;
      assert.ok(readyAfter >= Math.min(replicas, readyBefore), `new=${newReady} old=${oldReady}: ready ${readyBefore} -> ${readyAfter}`);
      assert.ok(deleted.has('old-u0'), 'old not-ready pod deleted at once');
      if (newReady === replicas) assert.equal([...deleted].filter((n) => n.startsWith('old-r')).length, oldReady);
    }
  }
});

test('rolling_update_converges_step_by_step', () => {
  // Simulate the controller loop: created pods become ready on the next step.
  const replicas = 3;
  const d = deployment({ replicas });
  const h = templateHash(d);
  let owned: V1Pod[] = pods('old-', replicas, 'oldhash');
  let seq = 0;
  for (let step = 0; step < 6; step++) {
    const plan = planDeployment(d, owned, NODES, new Map());
    const readyBefore = owned.filter(isPodReady).length;
    owned = owned.filter((p) => !plan.delete.includes(p.metadata!.name!));
    assert.ok(owned.filter(isPodReady).length >= Math.min(replicas, readyBefore), `step ${step}`);
    // pods created last step become ready; new ones start not ready
    owned = owned.map((p) => (p.metadata!.labels![TEMPLATE_HASH_LABEL] === h ? pod(p.metadata!.name!, h) : p));
    owned.push(...plan.create.map(() => pod(`new-${seq++}`, h, { ready: false })));
  }
  assert.equal(seq, replicas, 'no more pods created than needed');
  assert.equal(owned.length, replicas);
  assert.ok(owned.every((p) => p.metadata!.labels![TEMPLATE_HASH_LABEL] === h && isPodReady(p)));
});

// --- status ---

test('plan_deployment_status_counts_live_ready_and_updated_pods', () => {
  const d = deployment({ replicas: 3, generation: 4 });
  const h = templateHash(d);
  const owned = [pod('new-r', h), pod('new-u', h, { ready: false }), pod('old-r', 'oldhash'), pod('old-u', 'oldhash', { ready: false }), pod('gone', h, { deleting: true })];
  const { status } = planDeployment(d, owned, NODES, new Map());
  assert.deepEqual(status, { replicas: 4, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, observedGeneration: 4 });
});

test('plan_deployment_status_omits_observed_generation_without_a_generation', () => {
  const { status } = planDeployment(deployment({ replicas: 0 }), [], NODES, new Map());
  assert.deepEqual(status, { replicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0 });
  assert.equal('observedGeneration' in status, false);
});
