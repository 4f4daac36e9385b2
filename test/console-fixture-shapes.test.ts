// The console's fixture API answers with the same shapes as the real controller API: its
// fixture data pass the runtime checks (test/support/api-shapes.ts) that
// test/controller-api.test.ts applies to the real server's answers, so the two cannot
// drift apart silently.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listProblems, shapeProblems } from './support/api-shapes.js';
import {
  FIXTURE_POLICIES, FIXTURE_SERVICES, FIXTURE_WORKLOADS, fixtureCertificates, fixtureFlows, fixtureGraph, fixtureHttpRoute, fixtureRollout, fixtureServiceDetail, fixtureStatus,
  fixtureWorkloadDetail, syntheticGraph,
} from './support/browser-fixtures.js';

test('fixture_answers_pass_the_shape_checks_the_real_api_passes', () => {
  const graph = fixtureGraph();
  const problems = [
    ...shapeProblems('MeshStatus', fixtureStatus()),
    ...listProblems('Workload', { items: FIXTURE_WORKLOADS }),
    ...FIXTURE_WORKLOADS.flatMap((w) => shapeProblems('WorkloadDetail', fixtureWorkloadDetail(w, graph))),
    ...listProblems('Service', { items: FIXTURE_SERVICES }),
    ...FIXTURE_SERVICES.flatMap((s) => shapeProblems('ServiceDetail', fixtureServiceDetail(s, {}, [fixtureRollout()]))),
    ...listProblems('Policy', { items: FIXTURE_POLICIES }),
    ...shapeProblems('Certificates', fixtureCertificates()),
    ...shapeProblems('Graph', graph),
    ...shapeProblems('Graph', syntheticGraph(50, 100)),
    ...listProblems('Flow', { items: fixtureFlows() }),
    ...shapeProblems('Rollout', fixtureRollout()),
  ];
  assert.deepEqual(problems, []);
  assert.equal(fixtureHttpRoute({ 'echo-v1': 90, 'echo-v2': 10 }, 2).kind, 'HTTPRoute');
});

test('shape_check_names_a_missing_field_and_a_wrong_enum', () => {
  const { health: _h, ...node } = fixtureGraph().nodes[0]!;
  assert.deepEqual(shapeProblems('GraphNode', node), ['GraphNode.health: missing']);
  assert.match(shapeProblems('Flow', { ...fixtureFlows()[0]!, verdict: 'would-deny' }).join(), /Flow.verdict: "would-deny" is not one of allowed, denied, dry-run-deny/);
});
