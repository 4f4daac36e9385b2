import assert from 'node:assert/strict';
import { test } from 'node:test';
import { render } from './output.js';
import { enrolledWith, parseReplicas, STATUS_COLUMNS, statusRows, waitOutcome, waypointColumns, waypointGateway, waypointRows, type GatewayObject } from './waypoint-view.js';

const gw = (ns: string, name: string, extra: Partial<GatewayObject> = {}): GatewayObject => ({
  metadata: { name, namespace: ns, labels: { 'ambient.dev/waypoint-for': 'all' } },
  spec: { gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  ...extra,
});

test('apply_writes_a_gateway_of_class_ambient_waypoint_with_the_mesh_listener_and_labels', () => {
  assert.deepEqual(waypointGateway({ name: 'waypoint', namespace: 'shop', for: 'workload', replicas: 2 }), {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'waypoint', namespace: 'shop', labels: { 'ambient.dev/waypoint-for': 'workload' }, annotations: { 'ambient.dev/waypoint-replicas': '2' } },
    spec: { gatewayClassName: 'ambient-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] },
  });
  assert.equal(waypointGateway({ name: 'w', namespace: 'shop', for: 'service' }).metadata?.annotations, undefined, 'no replicas annotation unless asked');
});

test('apply_refuses_a_bad_name_type_or_replicas_naming_the_flag_and_value', () => {
  assert.throws(() => waypointGateway({ name: 'Bad_Name', namespace: 'shop', for: 'service' }), /--name: "Bad_Name"/);
  assert.throws(() => waypointGateway({ name: 'w', namespace: 'shop', for: 'pods' }), /--for: "pods"/);
  assert.throws(() => parseReplicas('-1'), /--replicas: "-1"/);
  assert.throws(() => parseReplicas('101'), /--replicas: "101"/);
  assert.equal(parseReplicas('0'), 0);
});

test('list_rows_carry_replicas_programmed_address_and_users_across_namespaces', () => {
  const gateways = [
    gw('shop', 'waypoint', { status: { conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed' }], addresses: [{ type: 'IPAddress', value: '10.96.0.7' }] } }),
    gw('infra', 'shared', { status: { conditions: [{ type: 'Programmed', status: 'False', reason: 'Pending' }] } }),
    { metadata: { name: 'ingress', namespace: 'shop' }, spec: { gatewayClassName: 'nginx' } },
  ];
  const rows = waypointRows(gateways, [{ metadata: { name: 'waypoint', namespace: 'shop' }, spec: { replicas: 2 }, status: { readyReplicas: 1 } }], {
    namespaces: [{ metadata: { name: 'shop', labels: { 'ambient.dev/use-waypoint': 'waypoint' } } }, { metadata: { name: 'bank', labels: { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra' } } }],
    services: [{ metadata: { name: 'cart', namespace: 'shop', labels: { 'ambient.dev/use-waypoint': 'none' } } }, { metadata: { name: 'ledger', namespace: 'bank', labels: { 'ambient.dev/use-waypoint': 'shared', 'ambient.dev/use-waypoint-namespace': 'infra' } } }],
    pods: [{ metadata: { name: 'web-1', namespace: 'shop', labels: { 'ambient.dev/use-waypoint': 'waypoint' } } }],
  });
  assert.deepEqual(rows, [
    { namespace: 'infra', name: 'shared', for: 'all', replicas: null, programmed: 'False (Pending)', addresses: [], usedBy: { namespaces: ['bank'], services: ['bank/ledger'], pods: [] } },
    { namespace: 'shop', name: 'waypoint', for: 'all', replicas: { ready: 1, desired: 2 }, programmed: 'True', addresses: ['10.96.0.7'], usedBy: { namespaces: ['shop'], services: [], pods: ['shop/web-1'] } },
  ]);
  const table = render(rows, waypointColumns(true), 'table').split('\n');
  assert.match(table[0]!, /^NAMESPACE\s+NAME\s+FOR\s+REPLICAS\s+PROGRAMMED\s+ADDRESS\s+USED BY$/);
  assert.match(table[1]!, /^infra\s+shared\s+all\s+-\s+False \(Pending\)\s+<pending>\s+ns\/bank,svc\/bank\/ledger$/);
  assert.match(table[2]!, /^shop\s+waypoint\s+all\s+1\/2\s+True\s+10\.96\.0\.7\s+ns\/shop,pod\/shop\/web-1$/);
});

test('status_rows_list_gateway_and_listener_conditions_with_messages', () => {
  const rows = statusRows([
    gw('shop', 'waypoint', {
      status: {
        conditions: [{ type: 'Accepted', status: 'False', reason: 'ListenersNotValid', message: 'no HBONE' }],
        listeners: [{ name: 'http', conditions: [{ type: 'Accepted', status: 'False', reason: 'UnsupportedProtocol', message: 'only HBONE' }] }],
      },
    }),
    gw('shop', 'new'),
  ]);
  assert.deepEqual(rows.map((r) => [r.name, r.scope, r.type, r.status, r.reason, r.message]), [
    ['waypoint', 'Gateway', 'Accepted', 'False', 'ListenersNotValid', 'no HBONE'],
    ['waypoint', 'listener http', 'Accepted', 'False', 'UnsupportedProtocol', 'only HBONE'],
    ['new', 'Gateway', 'Accepted', 'Unknown', 'Pending', 'no status yet: is the controller running?'],
  ]);
  assert.match(render(rows, STATUS_COLUMNS, 'table').split('\n')[0]!, /^NAMESPACE\s+NAME\s+SCOPE\s+CONDITION\s+STATUS\s+REASON\s+MESSAGE$/);
});

test('wait_ends_when_programmed_or_refused', () => {
  assert.deepEqual(waitOutcome(undefined), { done: false });
  assert.deepEqual(waitOutcome(gw('s', 'w', { status: { conditions: [{ type: 'Accepted', status: 'True' }, { type: 'Programmed', status: 'False', reason: 'Pending' }] } })), { done: false });
  assert.deepEqual(waitOutcome(gw('s', 'w', { status: { conditions: [{ type: 'Programmed', status: 'True', message: '1/1 waypoint replicas ready' }] } })), { done: true, ok: true, message: 'programmed: 1/1 waypoint replicas ready' });
  assert.equal((waitOutcome(gw('s', 'w', { status: { conditions: [{ type: 'Accepted', status: 'False', reason: 'InvalidParameters', message: 'bad' }] } })) as { ok: boolean }).ok, false);
});

test('delete_removes_the_namespace_label_only_when_it_names_a_deleted_waypoint', () => {
  const ns = (labels: Record<string, string>) => ({ metadata: { name: 'shop', labels } });
  const deleted = new Set(['shop/waypoint']);
  assert.equal(enrolledWith(ns({ 'ambient.dev/use-waypoint': 'waypoint' }), deleted), true);
  assert.equal(enrolledWith(ns({ 'ambient.dev/use-waypoint': 'other' }), deleted), false);
  assert.equal(enrolledWith(ns({ 'ambient.dev/use-waypoint': 'waypoint', 'ambient.dev/use-waypoint-namespace': 'infra' }), deleted), false);
});
