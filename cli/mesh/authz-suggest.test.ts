// `authz suggest`: --since, the edges kept, grouping by canonical name, exact selectors,
// principals by port, plaintext sources, and YAML that `apply -f` reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { workload } from '../../node-agent/proxy/fixtures.js';
import { parseManifests } from '../manifests.js';
import { MAX_SINCE_MS, principalOf, recentEdges, renderSuggestYaml, selectorFor, suggest, suggestList, suggestedName, SINCE_DURATION, type SuggestInput } from './authz-suggest.js';
import { parseDuration } from '../../core/duration.js';
import { CliError } from '../errors.js';
import type { AgentEdges, ObservedEdge } from './types.js';

const NOW = '2026-01-01T12:00:00.000Z';
const at = (secondsAgo: number) => new Date(Date.parse(NOW) - secondsAgo * 1000).toISOString();

const web1 = workload('web-6d4-a1', { uid: 'uid-web1', namespace: 'shop', labels: { app: 'web', version: 'v1', 'pod-template-hash': '6d4' }, canonicalName: 'web' });
const web2 = workload('web-6d4-b2', { uid: 'uid-web2', namespace: 'shop', labels: { app: 'web', version: 'v1', 'pod-template-hash': '6d4' }, canonicalName: 'web' });
const webCanary = workload('web-canary-1', { uid: 'uid-canary', namespace: 'shop', labels: { app: 'web', version: 'v2' }, canonicalName: 'web-canary' });
const db = workload('db-0', { uid: 'uid-db', namespace: 'shop', labels: { tier: 'db', 'controller-revision-hash': 'x1' }, canonicalName: 'db' });
const cache = workload('cache-0', { uid: 'uid-cache', namespace: 'shop', labels: { tier: 'db', role: 'cache' }, canonicalName: 'cache' });
const other = workload('web-1', { uid: 'uid-other', namespace: 'other', labels: { app: 'web' }, canonicalName: 'web' });
const WORKLOADS = [web1, web2, webCanary, db, cache, other];

function edge(principal: string | null, dest: { uid: string; name: string; namespace: string; canonicalName: string; labels: Record<string, string> }, port: number, secondsAgo = 30, over: Partial<ObservedEdge> = {}): ObservedEdge {
  return { sourcePrincipal: principal, destination: dest, port, connections: 1, denied: 0, firstSeen: at(secondsAgo + 60), lastSeen: at(secondsAgo), ...over };
}

const dest = (w: typeof web1) => ({ uid: w.uid, name: w.name, namespace: w.namespace, canonicalName: w.canonicalName, labels: w.labels });
const FRONT = 'spiffe://cluster.local/ns/shop/sa/frontend';
const ADMIN = 'spiffe://cluster.local/ns/ops/sa/admin';

function input(edges: ObservedEdge[], over: Partial<SuggestInput> = {}): SuggestInput {
  const agents: AgentEdges[] = [{ node: 'node-1', now: NOW, edges }];
  return { namespace: 'shop', edges: agents, workloads: WORKLOADS, sinceMs: 600_000, ...over };
}

test('since_takes_days_up_to_30d_and_more_than_zero', () => {
  // The syntax itself is core/duration.test.ts's; here what --since accepts.
  assert.equal(parseDuration('--since', '1d', SINCE_DURATION), 86_400_000);
  assert.equal(parseDuration('--since', ' 1h30m ', SINCE_DURATION), 5_400_000);
  assert.equal(parseDuration('--since', '30d', SINCE_DURATION), MAX_SINCE_MS);
});

test('bad_since_is_a_command_line_error_naming_the_flag_and_value', () => {
  const refused = (v: string, message: RegExp) => assert.throws(() => parseDuration('--since', v, SINCE_DURATION), (e: unknown) => e instanceof CliError && message.test(e.message), v);
  for (const bad of ['10', 'ten minutes', '10x', '-5m', '1.5h', '']) refused(bad, new RegExp(`^--since: "${bad.replace('.', '\\.')}" is not a duration \\(e\\.g\\. 30s, 10m, 2h, 1h30m, 500ms, 1d\\)$`));
  refused('0s', /^--since: "0s" must be longer than zero$/);
  refused('40d', /^--since: "40d" is longer than 30d$/);
});

test('principal_form_is_istio_s_without_spiffe_scheme', () => {
  assert.equal(principalOf('spiffe://cluster.local/ns/shop/sa/frontend'), 'cluster.local/ns/shop/sa/frontend');
});

test('edges_older_than_since_by_the_agents_clock_and_of_other_namespaces_are_left_out', () => {
  const kept = recentEdges(input([edge(FRONT, dest(web1), 8080, 30), edge(ADMIN, dest(web1), 8080, 3600), edge(FRONT, dest(other), 8080, 30)]));
  assert.deepEqual(kept.map((e) => [e.sourcePrincipal, e.destination.uid]), [[FRONT, 'uid-web1']]);
});

test('the_same_edge_seen_by_two_agents_is_merged_with_counts_summed', () => {
  const a = { node: 'node-1', now: NOW, edges: [edge(FRONT, dest(web1), 8080, 30, { connections: 3 })] };
  const b = { node: 'node-2', now: NOW, edges: [edge(FRONT, dest(web1), 8080, 10, { connections: 2 })] };
  const kept = recentEdges({ namespace: 'shop', edges: [a, b], sinceMs: 600_000 });
  assert.equal(kept.length, 1);
  assert.equal(kept[0]!.connections, 5);
  assert.equal(kept[0]!.lastSeen, at(10));
});

test('selector_prefers_app_when_it_selects_exactly_the_group', () => {
  const s = selectorFor([web1, web2], [web1, web2, db, cache]);
  assert.deepEqual(s, { matchLabels: { app: 'web' }, exact: true, alsoSelects: [] });
});

test('selector_adds_version_when_app_alone_also_selects_another_group', () => {
  const s = selectorFor([web1, web2], WORKLOADS.filter((w) => w.namespace === 'shop'));
  assert.deepEqual(s, { matchLabels: { app: 'web', version: 'v1' }, exact: true, alsoSelects: [] });
});

test('selector_without_app_uses_the_common_labels_minus_pod_specific_ones', () => {
  const s = selectorFor([cache], [db, cache]);
  assert.deepEqual(s, { matchLabels: { role: 'cache', tier: 'db' }, exact: true, alsoSelects: [] });
  const d = selectorFor([db], [db]);
  assert.deepEqual(d.matchLabels, { tier: 'db' }, 'controller-revision-hash is left out');
});

test('selector_that_cannot_be_exact_says_what_else_it_selects', () => {
  const s = selectorFor([db], [db, cache]);
  assert.equal(s.exact, false);
  assert.deepEqual(s.matchLabels, { tier: 'db' });
  assert.deepEqual(s.alsoSelects, ['shop/cache-0']);
});

test('one_policy_per_canonical_name_one_rule_per_port_principals_sorted', () => {
  const s = suggest(input([edge(FRONT, dest(web1), 8080), edge(ADMIN, dest(web2), 8080), edge(ADMIN, dest(web1), 9090), edge(FRONT, dest(web1), 8080), edge(FRONT, dest(db), 5432)]));
  assert.deepEqual(s.map((x) => x.canonicalName), ['db', 'web']);
  const web = s[1]!.policy!;
  assert.equal(web.metadata.name, 'allow-observed-web');
  assert.equal(web.metadata.namespace, 'shop');
  assert.equal(web.spec.action, 'ALLOW');
  assert.deepEqual(web.spec.selector.matchLabels, { app: 'web', version: 'v1' });
  assert.deepEqual(web.spec.rules, [
    { from: [{ source: { principals: ['cluster.local/ns/ops/sa/admin', 'cluster.local/ns/shop/sa/frontend'] } }], to: [{ operation: { ports: ['8080'] } }] },
    { from: [{ source: { principals: ['cluster.local/ns/ops/sa/admin'] } }], to: [{ operation: { ports: ['9090'] } }] },
  ]);
});

test('output_is_deterministic_whatever_the_order_edges_arrive_in', () => {
  const edges = [edge(FRONT, dest(web1), 8080), edge(ADMIN, dest(web2), 8080), edge(ADMIN, dest(web1), 9090), edge(FRONT, dest(db), 5432)];
  const a = renderSuggestYaml(suggest(input(edges)), 'h');
  const b = renderSuggestYaml(suggest(input([...edges].reverse())), 'h');
  assert.equal(a, b);
});

test('plaintext_sources_are_listed_in_a_comment_saying_they_will_be_denied', () => {
  const s = suggest(input([edge(FRONT, dest(web1), 8080), edge(null, dest(web1), 8080, 30, { sourceIp: '10.244.3.3', sourceWorkload: { name: 'legacy-1', namespace: 'legacy' }, connections: 4 })]));
  assert.equal(s[0]!.plaintext.length, 1);
  const yaml = renderSuggestYaml(s, 'h');
  assert.match(yaml, /^# plaintext sources \(no mesh identity\) cannot be allowed by principal: once this policy is applied they will be DENIED:$/m);
  assert.match(yaml, /^# {3}legacy\/legacy-1 \(10.244.3.3\) -> port 8080 \(4 connections\)$/m);
  assert.deepEqual(s[0]!.policy!.spec.rules.length, 1, 'the plaintext edge adds no rule');
});

test('only_plaintext_traffic_gives_no_policy_rather_than_an_allow_nothing', () => {
  const s = suggest(input([edge(null, dest(web1), 8080, 30, { sourceIp: '10.244.3.3' })]));
  assert.equal(s[0]!.policy, undefined);
  assert.match(renderSuggestYaml(s, 'h'), /no policy suggested: only plaintext traffic was observed/);
  assert.deepEqual(suggestList(s).items, []);
});

test('a_selector_that_is_not_exact_is_flagged_in_a_comment', () => {
  const s = suggest(input([edge(FRONT, dest(db), 5432)], { workloads: [db, cache] }));
  assert.equal(s[0]!.exact, false);
  assert.match(renderSuggestYaml(s, 'h'), /^# WARNING: no label set selects exactly the pods of db: this selector also selects shop\/cache-0/m);
});

test('pods_without_any_shared_label_get_no_policy', () => {
  const bare = workload('bare-1', { uid: 'uid-bare', namespace: 'shop', labels: {}, canonicalName: 'bare' });
  const s = suggest(input([edge(FRONT, dest(bare), 80)], { workloads: [bare] }));
  assert.equal(s[0]!.policy, undefined);
  assert.match(s[0]!.comments.join('\n'), /share no label/);
});

test('a_pod_seen_but_gone_since_still_counts_in_its_group_by_its_edge_labels', () => {
  const gone = { uid: 'uid-gone', name: 'web-6d4-zz', namespace: 'shop', canonicalName: 'web', labels: { app: 'web', version: 'v1', 'pod-template-hash': '6d4' } };
  const s = suggest(input([edge(FRONT, gone, 8080)]));
  assert.deepEqual(s[0]!.policy!.spec.selector.matchLabels, { app: 'web', version: 'v1' });
  assert.match(s[0]!.comments[0]!, /to 3 pods/);
});

test('nothing_observed_gives_no_suggestion', () => {
  assert.deepEqual(suggest(input([])), []);
  assert.deepEqual(suggest(input([edge(FRONT, dest(other), 8080)])), []);
});

test('suggested_name_is_a_valid_object_name', () => {
  assert.equal(suggestedName('web'), 'allow-observed-web');
  assert.equal(suggestedName('My_App'), 'allow-observed-my-app');
});

test('yaml_output_parses_back_as_authorization_policies_ready_for_apply', () => {
  const s = suggest(input([edge(FRONT, dest(web1), 8080), edge(FRONT, dest(db), 5432), edge(null, dest(cache), 6379, 30, { sourceIp: '10.0.0.9' })]));
  const yaml = renderSuggestYaml(s, 'ambientctl authz suggest -n shop --since 10m');
  assert.ok(yaml.startsWith('# ambientctl authz suggest -n shop --since 10m'), yaml.slice(0, 80));
  const docs = parseAllDocuments(yaml).map((d) => d.toJS() as unknown).filter((d) => d !== null);
  assert.deepEqual(docs, s.flatMap((x) => (x.policy ? [x.policy] : [])));
  const entries = parseManifests(yaml, 'suggested.yaml');
  assert.deepEqual(entries.map((e) => ('obj' in e ? `${e.obj.kind}/${e.obj.metadata?.name}` : `error ${e.message}`)), ['AuthorizationPolicy/allow-observed-db', 'AuthorizationPolicy/allow-observed-web']);
});

test('json_output_is_a_list_of_the_policies', () => {
  const s = suggest(input([edge(FRONT, dest(web1), 8080)]));
  const l = suggestList(s);
  assert.equal(l.kind, 'List');
  assert.deepEqual(l.items.map((p) => p.metadata.name), ['allow-observed-web']);
});

test('a_source_whose_every_connection_was_refused_is_not_allowed_but_named_in_a_comment', () => {
  const s = suggest(input([edge(FRONT, dest(web1), 8080), edge(ADMIN, dest(web1), 8080, 30, { connections: 3, denied: 3 })]));
  const web = s.find((x) => x.canonicalName === 'web')!;
  assert.deepEqual(web.policy!.spec.rules, [{ from: [{ source: { principals: ['cluster.local/ns/shop/sa/frontend'] } }], to: [{ operation: { ports: ['8080'] } }] }]);
  assert.ok(web.comments.includes('  cluster.local/ns/ops/sa/admin -> port 8080 (3 refused)'), web.comments.join('\n'));
});

test('a_source_allowed_at_least_once_is_kept', () => {
  const s = suggest(input([edge(ADMIN, dest(web1), 8080, 30, { connections: 3, denied: 2 })]));
  assert.deepEqual(s.find((x) => x.canonicalName === 'web')!.policy!.spec.rules[0]!.from, [{ source: { principals: ['cluster.local/ns/ops/sa/admin'] } }]);
});
