// The enrolment planner: config is the authority, CNI announcements bridge the gap until
// the pod is a Workload, and an identity or sandbox change is a re-enrolment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Workload } from '../../core/config/model.js';
import { workload } from '../proxy/fixtures.js';
import { planEnrolment, type EnrolmentInput } from './plan.js';

const hbone = (name: string, over: Partial<Workload> = {}) => workload(name, { uid: `uid-${name}`, protocol: 'HBONE', ...over });
const tcp = (name: string, over: Partial<Workload> = {}) => workload(name, { uid: `uid-${name}`, protocol: 'TCP', ...over });

function input(over: Partial<EnrolmentInput>): EnrolmentInput {
  return { local: [], announced: new Map(), netns: new Map(), enrolled: new Map(), ...over };
}

test('plan_enrol_hbone_workload_with_known_netns', () => {
  const w = hbone('web');
  const p = planEnrolment(input({ local: [w], netns: new Map([['uid-web', 'ns-web']]) }));
  assert.deepEqual(p, { enrol: [{ workload: w, netns: 'ns-web' }], unenrol: [], lookup: [] });
});

test('plan_tcp_workload_is_left_alone', () => {
  const p = planEnrolment(input({ local: [tcp('web')], netns: new Map([['uid-web', 'ns-web']]) }));
  assert.deepEqual(p, { enrol: [], unenrol: [], lookup: [] });
});

test('plan_host_network_workload_is_never_enrolled', () => {
  const p = planEnrolment(input({ local: [hbone('node-exporter', { hostNetwork: true })], netns: new Map([['uid-node-exporter', 'x']]) }));
  assert.deepEqual(p.enrol, []);
});

test('plan_unknown_netns_asks_for_a_lookup', () => {
  const w = hbone('web');
  const p = planEnrolment(input({ local: [w] }));
  assert.deepEqual(p.lookup, [w]);
  assert.deepEqual(p.enrol, []);
});

test('plan_already_enrolled_pod_is_kept', () => {
  const w = hbone('web');
  const p = planEnrolment(input({ local: [w], netns: new Map([['uid-web', 'n']]), enrolled: new Map([['uid-web', { netns: 'n', identity: w.identity }]]) }));
  assert.deepEqual(p, { enrol: [], unenrol: [], lookup: [] });
});

test('plan_label_removed_unenrols', () => {
  const w = tcp('web');
  const p = planEnrolment(input({ local: [w], netns: new Map([['uid-web', 'n']]), enrolled: new Map([['uid-web', { netns: 'n', identity: w.identity }]]) }));
  assert.deepEqual(p, { enrol: [], unenrol: ['uid-web'], lookup: [] });
});

test('plan_pod_gone_from_config_unenrols', () => {
  const p = planEnrolment(input({ enrolled: new Map([['uid-old', { netns: 'n', identity: 'spiffe://cluster.local/ns/a/sa/b' }]]) }));
  assert.deepEqual(p.unenrol, ['uid-old']);
});

test('plan_identity_change_reenrols', () => {
  const w = hbone('web', { identity: 'spiffe://cluster.local/ns/default/sa/new' });
  const p = planEnrolment(
    input({ local: [w], netns: new Map([['uid-web', 'n']]), enrolled: new Map([['uid-web', { netns: 'n', identity: 'spiffe://cluster.local/ns/default/sa/old' }]]) }),
  );
  assert.deepEqual(p, { enrol: [{ workload: w, netns: 'n' }], unenrol: ['uid-web'], lookup: [] });
});

test('plan_new_sandbox_netns_reenrols', () => {
  const w = hbone('web');
  const p = planEnrolment(input({ local: [w], netns: new Map([['uid-web', 'n2']]), enrolled: new Map([['uid-web', { netns: 'n1', identity: w.identity }]]) }));
  assert.deepEqual(p, { enrol: [{ workload: w, netns: 'n2' }], unenrol: ['uid-web'], lookup: [] });
});

test('plan_announced_pod_enrols_before_it_is_a_workload', () => {
  const w = hbone('new');
  const p = planEnrolment(input({ announced: new Map([['uid-new', w]]), netns: new Map([['uid-new', 'n']]) }));
  assert.deepEqual(p.enrol, [{ workload: w, netns: 'n' }]);
});

test('plan_config_overrides_an_announcement', () => {
  // The agent judged the pod enrolled from its labels; the controller (which also knows
  // waypoints and every rule) says TCP: the config wins.
  const p = planEnrolment(
    input({
      local: [tcp('new')],
      announced: new Map([['uid-new', hbone('new')]]),
      netns: new Map([['uid-new', 'n']]),
      enrolled: new Map([['uid-new', { netns: 'n', identity: hbone('new').identity }]]),
    }),
  );
  assert.deepEqual(p, { enrol: [], unenrol: ['uid-new'], lookup: [] });
});

test('plan_output_is_sorted_by_uid', () => {
  const ws = ['c', 'a', 'b'].map((n) => hbone(n));
  const p = planEnrolment(input({ local: ws, netns: new Map(ws.map((w) => [w.uid, `ns-${w.name}`])) }));
  assert.deepEqual(p.enrol.map((e) => e.workload.name), ['a', 'b', 'c']);
});
