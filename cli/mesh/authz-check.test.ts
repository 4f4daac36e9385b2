// `authz check`: the decision, the policy and rule, every policy considered and where it is
// enforced, with the real engine (core/policy) on fixture configs; and its table and JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Policy, PolicyRule } from '../../core/config/model.js';
import { endpoint, service, tcpPort, workload } from '../../node-agent/proxy/fixtures.js';
import { checkAccess, headline, renderCheck, type HttpAttributes } from './authz-check.js';
import { configView, parseFrom, parseTo, resolveFrom, resolveTo, type MeshConfigView } from './authz-resolve.js';
import { ENGINE } from './engine.js';
import { httpAttributes } from './policy-commands.js';

const WP = { service: 'shop/waypoint.shop.svc.cluster.local', port: 15008 };
const web1 = workload('web-1', { uid: 'uid-web1', namespace: 'shop', serviceAccount: 'web', ips: ['10.244.1.5'], node: 'node-1', labels: { app: 'web', version: 'v1' }, canonicalName: 'web' });
const web2 = workload('web-2', { uid: 'uid-web2', namespace: 'shop', serviceAccount: 'web', ips: ['10.244.2.6'], node: 'node-2', labels: { app: 'web', version: 'v2' }, canonicalName: 'web' });
const front = workload('frontend-1', { uid: 'uid-front', namespace: 'shop', serviceAccount: 'frontend', ips: ['10.244.1.9'], labels: { app: 'frontend' } });
const legacy = workload('legacy-1', { uid: 'uid-legacy', namespace: 'legacy', serviceAccount: 'old', ips: ['10.244.2.9'], labels: { app: 'legacy' } });
const webSvc = service('web', { namespace: 'shop', vips: ['10.96.0.20'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(web1), endpoint(web2)] });
const wpWeb = service('web', { namespace: 'shop', vips: ['10.96.0.20'], ports: [tcpPort(80, 8080, 'http')], endpoints: [endpoint(web1), endpoint(web2)], waypoint: WP });

function rule(r: Partial<PolicyRule> = {}): PolicyRule {
  return { from: [], to: [], when: [], ...r };
}

function policy(name: string, over: Partial<Policy> = {}): Policy {
  const namespace = over.namespace ?? 'shop';
  return { key: `${namespace}/${name}`, name, namespace, scope: 'namespace', action: 'ALLOW', rules: [rule()], ...over };
}

function cfg(policies: Policy[], services = [webSvc]): MeshConfigView {
  return configView({
    trustDomain: 'cluster.local',
    rootNamespace: 'ambient-system',
    resources: [
      ...[web1, web2, front, legacy].map((w) => ({ kind: 'Workload' as const, key: w.uid, body: w })),
      ...services.map((s) => ({ kind: 'Service' as const, key: s.key, body: s })),
      ...policies.map((p) => ({ kind: 'Policy' as const, key: p.key, body: p })),
    ],
  });
}

function check(c: MeshConfigView, from: string, to: string, http?: HttpAttributes, sourceIp?: string) {
  return checkAccess(c, resolveFrom(parseFrom(from), sourceIp, c), resolveTo(parseTo(to), c), http, ENGINE);
}

const denyLegacy = policy('deny-legacy', { action: 'DENY', rules: [rule({ from: [{ principals: ['cluster.local/ns/legacy/sa/old'] }] })] });
const allowFront = policy('allow-frontend', { selector: { app: 'web' }, rules: [rule({ from: [{ principals: ['cluster.local/ns/shop/sa/frontend'] }], to: [{ ports: [8080] }] })] });

test('check_no_policy_allows_by_default', () => {
  const r = check(cfg([]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'ALLOW');
  assert.equal(r.reason, 'no-policy');
  assert.equal(r.policy, null);
  assert.equal(r.rule, null);
  assert.equal(r.enforcedAt, 'node-agent');
  assert.deepEqual(r.considered, []);
  assert.equal(headline(r), 'no policy: allowed by default');
  assert.equal(r.endpoints, undefined, 'both endpoints agree');
});

test('check_deny_by_principal_names_policy_and_rule', () => {
  const r = check(cfg([denyLegacy]), 'legacy/old', 'web.shop:80');
  assert.equal(r.decision, 'DENY');
  assert.equal(r.policy, 'shop/deny-legacy');
  assert.equal(r.rule, 0);
  assert.equal(r.enforcedAt, 'node-agent');
  assert.equal(headline(r), 'denied by DENY policy shop/deny-legacy rule 0');
  assert.equal(r.considered.length, 1);
  assert.equal(r.considered[0]!.matched, true);
  assert.equal(r.considered[0]!.enforcedAt, 'node-agent');
});

test('check_deny_by_principal_lets_another_client_through_and_says_why_it_did_not_match', () => {
  const r = check(cfg([denyLegacy]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'ALLOW');
  assert.equal(r.considered[0]!.matched, false);
  assert.ok(r.considered[0]!.reasons.some((x) => x.includes('principals')), r.considered[0]!.reasons.join('|'));
});

test('check_allow_policy_that_matches_nothing_denies_with_no_allow_rule_matched', () => {
  const r = check(cfg([allowFront]), 'legacy/old', 'web.shop:80');
  assert.equal(r.decision, 'DENY');
  assert.equal(r.reason, 'no-allow-matched');
  assert.equal(r.policy, null);
  assert.equal(headline(r), 'no ALLOW rule matched');
});

test('check_allow_rule_matches_on_the_target_port_not_the_service_port', () => {
  const r = check(cfg([allowFront]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'ALLOW');
  assert.equal(r.policy, 'shop/allow-frontend');
  assert.equal(r.rule, 0);
  assert.deepEqual(r.to.destinations.map((d) => d.port), [8080, 8080]);
});

test('check_allow_nothing_policy_denies_everything', () => {
  const r = check(cfg([policy('allow-nothing', { rules: [] })]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'DENY');
  assert.equal(r.reason, 'no-allow-matched');
});

test('check_endpoints_that_disagree_are_listed_and_the_denial_is_the_answer', () => {
  const onlyV2 = policy('deny-v2', { action: 'DENY', selector: { version: 'v2' }, rules: [rule()] });
  const r = check(cfg([onlyV2]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'DENY');
  assert.equal(r.policy, 'shop/deny-v2');
  assert.ok(r.endpoints);
  assert.deepEqual(r.endpoints.map((e) => [e.workload, e.decision]), [['shop/web-1', 'ALLOW'], ['shop/web-2', 'DENY']]);
  assert.match(r.message, /1 of 2 endpoints deny/);
});

test('check_dry_run_policy_reports_what_it_would_decide_without_changing_the_decision', () => {
  const dry = policy('deny-all-dry', { action: 'DENY', dryRun: true, rules: [rule()] });
  const r = check(cfg([dry]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'ALLOW');
  assert.ok(r.dryRun);
  assert.equal(r.dryRun.decision, 'DENY');
  assert.equal(r.dryRun.policy, 'shop/deny-all-dry');
  assert.equal(r.dryRun.rule, 0);
  assert.ok(r.considered.some((c) => c.policy === 'shop/deny-all-dry' && c.dryRun));
});

test('check_without_dry_run_policy_has_no_dry_run_field', () => {
  assert.equal('dryRun' in check(cfg([denyLegacy]), 'shop/frontend', 'web.shop:80'), false);
});

test('check_root_namespace_policy_applies_mesh_wide', () => {
  const root = policy('deny-legacy-everywhere', { namespace: 'ambient-system', scope: 'global', action: 'DENY', rules: [rule({ from: [{ namespaces: ['legacy'] }] })] });
  const r = check(cfg([root]), 'legacy/old', 'web.shop:80');
  assert.equal(r.decision, 'DENY');
  assert.equal(r.policy, 'ambient-system/deny-legacy-everywhere');
});

test('check_allow_rule_with_l7_field_is_dropped_at_the_node_agent_and_the_reason_says_so', () => {
  const l7 = policy('allow-get', { rules: [rule({ to: [{ methods: ['GET'] }] })] });
  const r = check(cfg([l7]), 'shop/frontend', 'web.shop:80', { method: 'GET' });
  assert.equal(r.decision, 'DENY', 'no waypoint: the ALLOW rule with methods matches nothing at L4');
  assert.equal(r.reason, 'no-allow-matched');
  assert.ok(r.considered[0]!.reasons.some((x) => /method/i.test(x)), r.considered[0]!.reasons.join('|'));
  assert.ok(r.notes.some((n) => n.includes('no waypoint on this path') && n.includes('dropped')), r.notes.join('|'));
});

test('check_deny_rule_with_l7_field_applies_to_the_whole_port_at_the_node_agent', () => {
  const l7 = policy('deny-post', { action: 'DENY', rules: [rule({ to: [{ ports: [8080], methods: ['POST'] }] })] });
  const r = check(cfg([l7]), 'shop/frontend', 'web.shop:80', { method: 'GET' });
  assert.equal(r.decision, 'DENY', 'the L4 part (port 8080) is enforced without the method: the whole port');
  assert.equal(r.policy, 'shop/deny-post');
  assert.ok(r.considered[0]!.reasons.some((x) => x.includes('without')), r.considered[0]!.reasons.join('|'));
});

test('check_deny_rule_with_only_l7_fields_denies_every_connection_at_the_node_agent', () => {
  const l7 = policy('deny-post-only', { action: 'DENY', rules: [rule({ to: [{ methods: ['POST'] }] })] });
  const r = check(cfg([l7]), 'shop/frontend', 'web.shop:80', { method: 'GET' });
  assert.equal(r.decision, 'DENY', 'the node agent cannot see the method: it fails closed');
  assert.equal(r.considered[0]!.matched, true);
  assert.match(r.considered[0]!.reasons.join('\n'), /to\[0\]\.operation held only L7 fields: at the node agent it matches every port/);
});

test('check_with_a_waypoint_that_does_not_enforce_shows_what_it_would_decide', () => {
  const atWp = policy('deny-delete-at-waypoint', { scope: 'targets', action: 'DENY', targetRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [rule({ to: [{ methods: ['DELETE'] }] })] });
  const c = cfg([atWp], [wpWeb]);
  const r = checkAccess(c, resolveFrom(parseFrom('shop/frontend'), undefined, c), resolveTo(parseTo('web.shop:80'), c), { method: 'DELETE' }, ENGINE, false);
  assert.equal(r.decision, 'ALLOW', 'waypoints do not enforce authorization yet: the traffic is not denied');
  assert.equal(r.enforcedAt, 'node-agent');
  assert.deepEqual(r.enforcement.map((s) => [s.at, s.enforced, s.decision]), [['waypoint', false, 'DENY'], ['node-agent', true, 'ALLOW']]);
  assert.ok(r.considered.some((c) => c.policy === 'shop/deny-delete-at-waypoint' && c.enforcedAt === 'waypoint' && c.matched));
  assert.ok(r.notes.some((n) => n.includes('does not enforce authorization policies yet')), r.notes.join('|'));
  assert.match(renderCheck(r, 'table'), /^not enforced: waypoint waypoint.shop.svc.cluster.local:15008 \(waypoints do not enforce authorization yet\) would deny: denied by DENY policy shop\/deny-delete-at-waypoint rules\[0\]$/m);
});

test('check_with_an_enforcing_waypoint_evaluates_targetrefs_policies_there_with_http', () => {
  const atWp = policy('allow-get-at-waypoint', { scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [rule({ to: [{ methods: ['GET'] }] })] });
  const c = cfg([atWp], [wpWeb]);
  const run = (method: string) => checkAccess(c, resolveFrom(parseFrom('shop/frontend'), undefined, c), resolveTo(parseTo('web.shop:80'), c), { method }, ENGINE, true);
  const ok = run('GET');
  assert.equal(ok.decision, 'ALLOW');
  assert.equal(ok.enforcedAt, 'waypoint');
  assert.equal(ok.policy, 'shop/allow-get-at-waypoint');
  assert.deepEqual(ok.enforcement.map((s) => [s.at, s.enforced]), [['waypoint', true], ['node-agent', true]]);
  assert.equal(ok.to.waypoint, 'waypoint.shop.svc.cluster.local:15008');
  assert.ok(ok.considered.every((x) => x.enforcedAt === 'waypoint'));
  const no = run('DELETE');
  assert.equal(no.decision, 'DENY');
  assert.equal(no.enforcedAt, 'waypoint');
  assert.equal(headline(no), 'no ALLOW rule matched at the waypoint');
});

test('check_waypoint_gateway_policy_applies_and_node_agent_deny_still_wins', () => {
  const gw = policy('allow-all-gw', { scope: 'targets', targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }], rules: [rule()] });
  const c = cfg([gw, denyLegacy], [wpWeb]);
  const r = checkAccess(c, resolveFrom(parseFrom('legacy/old'), undefined, c), resolveTo(parseTo('web.shop:80'), c), undefined, ENGINE, true);
  assert.equal(r.decision, 'DENY');
  assert.equal(r.enforcedAt, 'node-agent');
  assert.equal(r.policy, 'shop/deny-legacy');
  assert.deepEqual(r.considered.map((x) => [x.policy, x.enforcedAt]), [['shop/allow-all-gw', 'waypoint'], ['shop/deny-legacy', 'node-agent']]);
});

test('check_targetrefs_policy_without_a_waypoint_is_noted_as_enforced_nowhere', () => {
  const atWp = policy('deny-at-waypoint', { scope: 'targets', action: 'DENY', targetRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [rule()] });
  const r = check(cfg([atWp]), 'shop/frontend', 'web.shop:80');
  assert.equal(r.decision, 'ALLOW');
  assert.ok(r.notes.some((n) => n.includes('shop/deny-at-waypoint') && n.includes('nothing enforces it')), r.notes.join('|'));
});

test('check_ip_block_uses_the_source_ip_of_the_identity_workload', () => {
  const byIp = policy('deny-ip', { action: 'DENY', rules: [rule({ from: [{ ipBlocks: ['10.244.1.9/32'] }] })] });
  assert.equal(check(cfg([byIp]), 'shop/frontend', 'web.shop:80').decision, 'DENY');
  assert.equal(check(cfg([byIp]), 'shop/frontend', 'web.shop:80', undefined, '10.0.0.1').decision, 'ALLOW');
});

test('check_destination_not_in_the_mesh_says_nothing_enforces_it_now', () => {
  const plain = workload('plain-1', { uid: 'uid-plain', namespace: 'shop', ips: ['10.244.1.77'], protocol: 'TCP', labels: { app: 'plain' } });
  const c = configView({ trustDomain: 'cluster.local', rootNamespace: 'ambient-system', resources: [{ kind: 'Workload', key: plain.uid, body: plain }, { kind: 'Policy', key: denyLegacy.key, body: denyLegacy }] });
  const r = checkAccess(c, resolveFrom(parseFrom('legacy/old'), undefined, c), resolveTo(parseTo('plain-1.shop:80'), c), undefined, ENGINE);
  assert.equal(r.decision, 'DENY', 'what its node agent would decide');
  assert.ok(r.notes.some((n) => n.startsWith('shop/plain-1 is not in the mesh')), r.notes.join('|'));
});

test('check_json_has_the_stable_fields', () => {
  const r = check(cfg([denyLegacy]), 'legacy/old', 'web.shop:80');
  const j = JSON.parse(renderCheck(r, 'json')) as Record<string, unknown>;
  for (const k of ['decision', 'policy', 'rule', 'enforcedAt', 'considered', 'from', 'to']) assert.ok(k in j, k);
  assert.equal(j['decision'], 'DENY');
  assert.equal(j['policy'], 'shop/deny-legacy');
  assert.equal(j['rule'], 0);
  assert.equal(j['enforcedAt'], 'node-agent');
  const none = JSON.parse(renderCheck(check(cfg([]), 'shop/frontend', 'web.shop:80'), 'json')) as Record<string, unknown>;
  assert.equal(none['policy'], null, 'policy is always present, null when none decided');
  assert.equal(none['rule'], null);
});

test('check_table_text_says_decision_source_target_and_considered_policies', () => {
  const text = renderCheck(check(cfg([denyLegacy, allowFront]), 'legacy/old', 'web.shop:80'), 'table');
  const lines = text.split('\n');
  assert.equal(lines[0], 'DENY: denied by DENY policy shop/deny-legacy rule 0');
  assert.match(text, /^from: +spiffe:\/\/cluster.local\/ns\/legacy\/sa\/old from 10.244.2.9 \(pod legacy\/legacy-1\)$/m);
  assert.match(text, /^to: +Service shop\/web port 80 -> 2 endpoints:\n {16}shop\/web-1 10.244.1.5:8080 on node-1\n {16}shop\/web-2 10.244.2.6:8080 on node-2$/m);
  assert.match(text, /^enforced at: +the node agent of each endpoint \(node-1, node-2\): DENY \(denied by DENY policy shop\/deny-legacy rules\[0\]\)$/m);
  assert.match(text, /^POLICY +ACTION +DRY-RUN +AT +MATCHED +WHY$/m);
  assert.match(text, /^shop\/deny-legacy +DENY +no +node-agent +rule 0 /m);
  assert.match(text, /^shop\/allow-frontend +ALLOW +no +node-agent +no /m);
});

test('check_table_for_no_policy_says_so', () => {
  const text = renderCheck(check(cfg([]), 'shop/frontend', 'web-1.shop:8080'), 'table');
  assert.match(text, /^ALLOW: no policy: allowed by default$/m);
  assert.match(text, /^to: +pod shop\/web-1 port 8080 \(10.244.1.5:8080 on node-1\)$/m);
  assert.match(text, /^considered: +no policy applies$/m);
});

test('check_yaml_is_the_same_object', () => {
  const r = check(cfg([denyLegacy]), 'legacy/old', 'web.shop:80');
  assert.match(renderCheck(r, 'yaml'), /^decision: DENY$/m);
  assert.match(renderCheck(r, 'yaml'), /^enforcedAt: node-agent$/m);
});

test('check_with_a_waypoint_its_l7_deny_decides_there_by_default', () => {
  const atWp = policy('deny-delete-at-waypoint', { scope: 'targets', action: 'DENY', targetRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [rule({ to: [{ methods: ['DELETE'] }] })] });
  const r = check(cfg([atWp], [wpWeb]), 'shop/frontend', 'web.shop:80', { method: 'DELETE' });
  assert.equal(r.decision, 'DENY');
  assert.equal(r.enforcedAt, 'waypoint');
  assert.equal(r.policy, 'shop/deny-delete-at-waypoint');
  assert.deepEqual(r.enforcement.map((s) => [s.at, s.enforced, s.decision]), [['waypoint', true, 'DENY'], ['node-agent', true, 'ALLOW']]);
  assert.equal(r.enforcedBy, 'waypoint waypoint.shop.svc.cluster.local:15008');
  assert.match(renderCheck(r, 'table'), /^enforced at:  waypoint waypoint.shop.svc.cluster.local:15008: DENY \(denied by DENY policy shop\/deny-delete-at-waypoint rules\[0\]\)$/m);
  assert.equal(check(cfg([atWp], [wpWeb]), 'shop/frontend', 'web.shop:80', { method: 'GET' }).decision, 'ALLOW');
});

test('check_node_agent_behind_a_waypoint_sees_the_waypoint_identity', () => {
  const wpPod = workload('waypoint-1', { uid: 'uid-wp', namespace: 'shop', serviceAccount: 'waypoint', ips: ['10.244.1.30'], labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' } });
  const onlyFrontend = policy('allow-frontend', { rules: [rule({ from: [{ principals: ['cluster.local/ns/shop/sa/frontend'] }] })] });
  const c = configView({
    trustDomain: 'cluster.local',
    rootNamespace: 'ambient-system',
    resources: [
      ...[web1, web2, front, wpPod].map((w) => ({ kind: 'Workload' as const, key: w.uid, body: w })),
      { kind: 'Service' as const, key: wpWeb.key, body: wpWeb },
      { kind: 'Policy' as const, key: onlyFrontend.key, body: onlyFrontend },
    ],
  });
  const r = checkAccess(c, resolveFrom(parseFrom('shop/frontend'), undefined, c), resolveTo(parseTo('web.shop:80'), c), undefined, ENGINE);
  assert.equal(r.decision, 'DENY', 'the node agent sees the waypoint, which the policy does not allow');
  assert.equal(r.enforcedAt, 'node-agent');
  assert.ok(r.notes.some((n) => n.includes("sees the waypoint's identity spiffe://cluster.local/ns/shop/sa/waypoint (shop/waypoint-1)")), r.notes.join('|'));
});

test('check_request_principal_flag_reaches_request_principals_at_the_waypoint', () => {
  const requireJwt = policy('require-jwt', { scope: 'targets', targetRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [rule({ from: [{ requestPrincipals: ['https://idp.example/*'] }] })] });
  const c = cfg([requireJwt], [wpWeb]);
  const withJwt = httpAttributes({ header: [], requestPrincipal: 'https://idp.example/alice' });
  assert.deepEqual(withJwt, { requestPrincipal: 'https://idp.example/alice' });
  assert.equal(check(c, 'shop/frontend', 'web.shop:80', withJwt).decision, 'ALLOW');
  assert.equal(check(c, 'shop/frontend', 'web.shop:80', { method: 'GET' }).decision, 'DENY');
  assert.throws(() => httpAttributes({ header: [], requestPrincipal: 'alice' }), /--request-principal: "alice" is not ISSUER\/SUBJECT/);
});
