import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  buildServiceRules,
  endpointChain,
  parseServiceChains,
  probability,
  serviceJumps,
  servicePortChain,
  validateService,
  type Service,
} from './service-rules.js';

const web = (endpoints: { ip: string; port: number }[], extra: Partial<Service> = {}): Service => ({
  namespace: 'default',
  name: 'web',
  clusterIP: '10.96.0.10',
  ports: [{ name: 'http', port: 80, protocol: 'TCP', endpoints }],
  ...extra,
});
const ep = (last: number, port = 8080) => ({ ip: `10.244.1.${last}`, port });
const lines = (text: string) => text.split('\n');
const section = (text: string, table: string) => {
  const all = lines(text);
  const start = all.indexOf(`*${table}`);
  return all.slice(start, all.indexOf('COMMIT', start) + 1);
};
const svcChain = servicePortChain('default', 'web', 'http', 'TCP');

test('probability_is_printed_as_iptables_stores_it', () => {
  assert.equal(probability(3), '0.33333333349');
  assert.equal(probability(2), '0.50000000000');
  assert.equal(probability(4), '0.25000000000');
  assert.equal(probability(7), '0.14285714272');
});

test('service_with_three_endpoints_spreads_1_3_1_2_1', () => {
  const { text } = buildServiceRules([web([ep(2), ep(3), ep(4)])]);
  const jumps = lines(text).filter((l) => l.startsWith(`-A ${svcChain} `));
  assert.equal(jumps.length, 3);
  assert.match(jumps[0]!, /--probability 0\.33333333349 -j AMB-SEP-/);
  assert.match(jumps[1]!, /--probability 0\.50000000000 -j AMB-SEP-/);
  assert.doesNotMatch(jumps[2]!, /statistic/);
  assert.match(jumps[2]!, /-j AMB-SEP-[0-9A-F]{16}$/);
});

test('service_with_one_endpoint_jumps_unconditionally', () => {
  const { text } = buildServiceRules([web([ep(2)])]);
  const jumps = lines(text).filter((l) => l.startsWith(`-A ${svcChain} `));
  assert.equal(jumps.length, 1);
  assert.doesNotMatch(jumps[0]!, /statistic/);
});

test('vip_rule_matches_cluster_ip_protocol_and_port_with_a_comment', () => {
  const { text } = buildServiceRules([web([ep(2)])]);
  assert.ok(
    lines(text).includes(`-A AMB-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j ${svcChain}`),
    text,
  );
});

test('endpoint_chain_dnats_to_endpoint_ip_and_port', () => {
  const sep = endpointChain('default', 'web', 'http', 'TCP', ep(2));
  const { text } = buildServiceRules([web([ep(2)])]);
  assert.ok(lines(text).includes(`-A ${sep} -p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.244.1.2:8080`), text);
});

test('hairpin_traffic_from_the_endpoint_itself_is_marked_for_masquerade', () => {
  const sep = endpointChain('default', 'web', 'http', 'TCP', ep(2));
  const all = lines(buildServiceRules([web([ep(2)])]).text);
  const mark = all.indexOf(`-A ${sep} -s 10.244.1.2/32 -m comment --comment "default/web:http" -j AMB-MARK-MASQ`);
  const dnat = all.findIndex((l) => l.startsWith(`-A ${sep} `) && l.includes('DNAT'));
  assert.ok(mark >= 0 && mark < dnat, 'mark before DNAT');
  assert.ok(all.includes('-A AMB-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'));
  assert.ok(all.includes('-A AMB-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN'));
  assert.ok(all.some((l) => l.startsWith('-A AMB-POSTROUTING ') && l.endsWith('-j MASQUERADE')));
});

test('service_without_endpoints_rejects', () => {
  const { text, chains } = buildServiceRules([web([])]);
  assert.deepEqual(chains, []);
  assert.ok(
    section(text, 'filter').includes(
      '-A AMB-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable',
    ),
    text,
  );
  assert.ok(!section(text, 'nat').some((l) => l.includes('10.96.0.10')));
});

test('service_with_endpoints_is_not_rejected', () => {
  const { text } = buildServiceRules([web([ep(2)])]);
  assert.deepEqual(section(text, 'filter'), ['*filter', ':AMB-SERVICES - [0:0]', 'COMMIT']);
});

test('resync_redeclares_services_chain_in_both_tables', () => {
  const { text } = buildServiceRules([]);
  assert.ok(section(text, 'nat').includes(':AMB-SERVICES - [0:0]'));
  assert.ok(section(text, 'filter').includes(':AMB-SERVICES - [0:0]'));
});

test('resync_never_touches_built_in_chains', () => {
  const { text } = buildServiceRules([web([ep(2), ep(3)]), web([], { name: 'api', clusterIP: '10.96.0.11' })]);
  assert.ok(!lines(text).some((l) => /^(-A|-I|-D|-F|:)\s*(PREROUTING|OUTPUT|POSTROUTING|INPUT|FORWARD)\b/.test(l)));
});

test('every_declared_chain_is_declared_once', () => {
  const { text } = buildServiceRules([web([ep(2), ep(3)])], { previousChains: [svcChain] });
  const decl = lines(text).filter((l) => l.startsWith(':'));
  assert.equal(new Set(decl).size + 1, decl.length, 'AMB-SERVICES is declared once per table');
});

test('stale_chains_are_deleted', () => {
  const first = buildServiceRules([web([ep(2), ep(3)])]);
  const second = buildServiceRules([web([ep(3)])], { previousChains: first.chains });
  const gone = endpointChain('default', 'web', 'http', 'TCP', ep(2));
  const nat = section(second.text, 'nat');
  const declared = nat.indexOf(`:${gone} - [0:0]`);
  const deleted = nat.indexOf(`-X ${gone}`);
  assert.ok(declared >= 0, 'stale chain is declared (flushed) first');
  assert.ok(deleted > declared, 'then deleted');
  assert.ok(!nat.includes(`-X ${svcChain}`), 'live chains stay');
  assert.ok(!second.chains.includes(gone));
});

test('removed_service_deletes_its_service_and_endpoint_chains', () => {
  const first = buildServiceRules([web([ep(2)])]);
  const { text, chains } = buildServiceRules([], { previousChains: first.chains });
  assert.deepEqual(chains, []);
  for (const c of first.chains) assert.ok(lines(text).includes(`-X ${c}`), c);
});

test('service_losing_all_endpoints_deletes_its_chain_and_rejects', () => {
  const first = buildServiceRules([web([ep(2)])]);
  const { text } = buildServiceRules([web([])], { previousChains: first.chains });
  assert.ok(lines(text).includes(`-X ${svcChain}`));
  assert.ok(section(text, 'filter').some((l) => l.includes('REJECT')));
});

test('foreign_chains_in_previous_are_never_deleted', () => {
  const { text } = buildServiceRules([], { previousChains: ['KUBE-SVC-ABC', 'AMB-SERVICES', 'AMB-POSTROUTING', 'AMB-SVC-short', 'ISTIO-X'] });
  assert.ok(!lines(text).some((l) => l.startsWith('-X')));
});

test('chain_names_are_16_hex_of_sha256_and_fit_iptables', () => {
  const expect = createHash('sha256').update('default/web:http/TCP').digest('hex').slice(0, 16).toUpperCase();
  assert.equal(svcChain, `AMB-SVC-${expect}`);
  assert.ok(svcChain.length <= 28);
  assert.match(endpointChain('default', 'web', 'http', 'TCP', ep(2)), /^AMB-SEP-[0-9A-F]{16}$/);
});

test('chain_names_differ_by_protocol_port_name_and_endpoint', () => {
  const names = new Set([
    servicePortChain('default', 'web', 'http', 'TCP'),
    servicePortChain('default', 'web', 'http', 'UDP'),
    servicePortChain('default', 'web', 'grpc', 'TCP'),
    servicePortChain('other', 'web', 'http', 'TCP'),
    endpointChain('default', 'web', 'http', 'TCP', ep(2)),
    endpointChain('default', 'web', 'http', 'TCP', ep(2, 9090)),
  ]);
  assert.equal(names.size, 6);
});

test('output_is_deterministic_whatever_the_input_order', () => {
  const a = buildServiceRules([web([ep(2), ep(10), ep(3)]), web([ep(4)], { name: 'api', clusterIP: '10.96.0.11' })]);
  const b = buildServiceRules([web([ep(4)], { name: 'api', clusterIP: '10.96.0.11' }), web([ep(3), ep(2), ep(10)])]);
  assert.equal(a.text, b.text);
});

test('duplicate_endpoints_count_once', () => {
  const { chains } = buildServiceRules([web([ep(2), ep(2)])]);
  assert.equal(chains.length, 2);
});

test('udp_port_uses_udp_matches', () => {
  const dns: Service = { namespace: 'kube-system', name: 'dns', clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP', endpoints: [ep(9, 53)] }] };
  const { text } = buildServiceRules([dns]);
  assert.ok(lines(text).some((l) => l.includes('-d 10.96.0.53/32 -p udp') && l.includes('-m udp --dport 53')));
  assert.ok(lines(text).some((l) => l.includes('-p udp') && l.includes('DNAT --to-destination 10.244.1.9:53')));
});

test('unnamed_port_comment_is_ns_slash_name', () => {
  const s: Service = { namespace: 'default', name: 'one', clusterIP: '10.96.0.12', ports: [{ port: 80, protocol: 'TCP', endpoints: [] }] };
  assert.ok(buildServiceRules([s]).text.includes('--comment "default/one has no endpoints"'));
});

test('headless_service_gets_no_rules', () => {
  const { text, chains, rejected } = buildServiceRules([web([ep(2)], { clusterIP: 'None' })]);
  assert.deepEqual(chains, []);
  assert.deepEqual(rejected, []);
  assert.ok(!text.includes('default/web'));
});

test('invalid_service_is_rejected_and_others_still_programmed', () => {
  const bad = web([ep(2)], { name: 'bad', clusterIP: '10.96.0.300' });
  const { chains, rejected } = buildServiceRules([bad, web([ep(3)])]);
  assert.deepEqual(rejected.map((r) => r.service), ['default/bad']);
  assert.match(rejected[0]!.reason, /clusterIP "10\.96\.0\.300" is not an IPv4 address/);
  assert.equal(chains.length, 2);
});

test('second_service_claiming_the_same_vip_port_is_rejected', () => {
  const { rejected } = buildServiceRules([web([ep(2)]), web([ep(3)], { name: 'zzz' })]);
  assert.deepEqual(rejected.map((r) => r.service), ['default/zzz']);
  assert.match(rejected[0]!.reason, /already the VIP of default\/web/);
});

test('validate_service_names_each_problem', () => {
  const problems = validateService({
    namespace: 'Bad_NS',
    name: 'web',
    clusterIP: '10.96.0.1',
    ports: [
      { name: 'http', port: 0, protocol: 'SCTP' as 'TCP', endpoints: [{ ip: 'x', port: 1 }] },
      { name: 'http', port: 81, protocol: 'SCTP' as 'TCP', endpoints: [] },
    ],
  });
  assert.ok(problems.some((p) => p.includes('namespace "Bad_NS"')));
  assert.ok(problems.some((p) => p.includes('port 0 is not 1..65535')));
  assert.ok(problems.some((p) => p.includes('protocol "SCTP"')));
  assert.ok(problems.some((p) => p.includes('endpoint')));
  assert.ok(problems.some((p) => p.includes('two ports share name')));
});

test('comments_never_contain_quotes_from_input', () => {
  const { rejected, text } = buildServiceRules([web([ep(2)], { name: 'a"b' })]);
  assert.equal(rejected.length, 1);
  assert.ok(!text.includes('a"b'));
});

test('parse_service_chains_reads_iptables_save', () => {
  const save = [
    '# Generated by iptables-save',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':AMB-SERVICES - [0:0]',
    ':AMB-SVC-0123456789ABCDEF - [0:0]',
    ':AMB-SEP-FEDCBA9876543210 - [0:0]',
    ':KUBE-SVC-XYZ - [0:0]',
    '-A AMB-SERVICES -j AMB-SVC-0123456789ABCDEF',
    'COMMIT',
  ].join('\n');
  assert.deepEqual(parseServiceChains(save), ['AMB-SEP-FEDCBA9876543210', 'AMB-SVC-0123456789ABCDEF']);
});

test('jumps_cover_prerouting_output_postrouting_forward', () => {
  const jumps = serviceJumps().map((j) => `${j.table}/${j.chain}`);
  assert.deepEqual(jumps, ['nat/PREROUTING', 'nat/OUTPUT', 'nat/POSTROUTING', 'filter/FORWARD', 'filter/OUTPUT']);
});

test('filter_jumps_only_see_new_connections', () => {
  for (const j of serviceJumps().filter((x) => x.table === 'filter')) {
    assert.deepEqual(j.args.slice(0, 4), ['-m', 'conntrack', '--ctstate', 'NEW']);
    assert.equal(j.args.at(-1), 'AMB-SERVICES');
  }
});

test('restore_text_ends_each_table_with_commit', () => {
  const all = lines(buildServiceRules([]).text);
  assert.deepEqual(
    all.filter((l) => l.startsWith('*') || l === 'COMMIT'),
    ['*nat', 'COMMIT', '*filter', 'COMMIT'],
  );
});
