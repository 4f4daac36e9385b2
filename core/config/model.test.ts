// The model's small helpers: where an endpoint's traffic goes, and the order of resources.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareResources, endpointTargetPort, resourceId, type Endpoint, type ResourceKind, type ServicePort } from './model.js';

const ep = (ports: Record<string, number> = {}): Endpoint => ({ workloadUid: 'u', ports, healthy: true });

test('endpoint_target_port_numeric_target_applies_to_every_endpoint', () => {
  const p: ServicePort = { port: 80, targetPort: 8080, protocol: 'TCP' };
  assert.equal(endpointTargetPort(p, ep({ '80': 9999 })), 8080);
});

test('endpoint_target_port_named_target_reads_the_endpoint', () => {
  const p: ServicePort = { port: 80, targetPort: 0, protocol: 'TCP' };
  assert.equal(endpointTargetPort(p, ep({ '80': 9090 })), 9090);
  assert.equal(endpointTargetPort(p, ep()), undefined);
});

test('endpoint_target_port_named_udp_target_is_not_resolved', () => {
  const p: ServicePort = { port: 53, targetPort: 0, protocol: 'UDP' };
  assert.equal(endpointTargetPort(p, ep({ '53': 5353 })), undefined);
});

test('endpoint_target_port_ignores_inherited_keys', () => {
  const p: ServicePort = { port: 80, targetPort: 0, protocol: 'TCP' };
  const ports = Object.create({ '80': 1234 }) as Record<string, number>;
  assert.equal(endpointTargetPort(p, ep(ports)), undefined);
});

test('compare_resources_orders_workloads_then_services_then_policies_then_keys', () => {
  const rs: Array<{ kind: ResourceKind; key: string }> = [
    { kind: 'Policy', key: 'a/p' },
    { kind: 'Service', key: 'b/s' },
    { kind: 'Workload', key: 'z' },
    { kind: 'Service', key: 'a/s' },
    { kind: 'Workload', key: 'B' },
    { kind: 'Workload', key: 'a' },
  ];
  assert.deepEqual(rs.sort(compareResources).map((r) => resourceId(r.kind, r.key)), ['Workload/B', 'Workload/a', 'Workload/z', 'Service/a/s', 'Service/b/s', 'Policy/a/p']);
});
