import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dashboardUrl,
  downstreamResponseHeaders,
  hostAllowed,
  isEventStream,
  originAllowed,
  parsePort,
  parseServiceAccount,
  pickControllerPod,
  requestVerdict,
  upstreamRequestHeaders,
} from './dashboard-proxy.js';

const P = 15080;
const own = { host: `127.0.0.1:${P}` };

test('the_url_is_loopback_with_the_port', () => {
  assert.equal(dashboardUrl(41234), 'http://127.0.0.1:41234/');
});

test('host_127_0_0_1_and_localhost_with_the_port_are_accepted', () => {
  assert.ok(hostAllowed(`127.0.0.1:${P}`, P));
  assert.ok(hostAllowed(`LOCALHOST:${P}`, P));
});

test('host_of_a_rebound_name_is_refused', () => {
  assert.equal(hostAllowed(`evil.example:${P}`, P), false);
  assert.equal(hostAllowed('127.0.0.1', P), false);
  assert.equal(hostAllowed(`127.0.0.1:${P + 1}`, P), false);
  assert.equal(hostAllowed(`[::1]:${P}`, P), false);
  assert.equal(hostAllowed(undefined, P), false);
});

test('origin_must_be_the_proxy_own_origin', () => {
  assert.ok(originAllowed(`http://127.0.0.1:${P}`, P));
  assert.ok(originAllowed(`http://localhost:${P}`, P));
  assert.equal(originAllowed(`https://127.0.0.1:${P}`, P), false);
  assert.equal(originAllowed(`http://127.0.0.1:${P}.evil.example`, P), false);
  assert.equal(originAllowed('null', P), false);
  assert.equal(originAllowed('http://evil.example', P), false);
});

test('a_get_without_origin_from_the_own_host_passes', () => {
  assert.deepEqual(requestVerdict('GET', own, P), { ok: true });
});

test('a_foreign_origin_is_refused_even_for_a_get', () => {
  const v = requestVerdict('GET', { ...own, origin: 'http://evil.example' }, P);
  assert.equal(v.ok, false);
  assert.ok(!v.ok && v.status === 403 && /Origin "http:\/\/evil.example"/.test(v.reason));
});

test('a_write_without_origin_is_refused', () => {
  const v = requestVerdict('PUT', own, P);
  assert.ok(!v.ok && /without an Origin/.test(v.reason));
});

test('a_write_with_the_own_origin_passes', () => {
  assert.deepEqual(requestVerdict('POST', { ...own, origin: `http://127.0.0.1:${P}`, 'sec-fetch-site': 'same-origin' }, P), { ok: true });
});

test('a_rebound_host_is_refused_even_with_a_matching_origin_port', () => {
  const v = requestVerdict('GET', { host: `rebind.example:${P}`, origin: `http://rebind.example:${P}` }, P);
  assert.ok(!v.ok && /Host "rebind.example/.test(v.reason));
});

test('a_cross_site_fetch_is_refused', () => {
  const v = requestVerdict('GET', { ...own, 'sec-fetch-site': 'cross-site' }, P);
  assert.ok(!v.ok && /Sec-Fetch-Site/.test(v.reason));
  assert.equal(requestVerdict('GET', { ...own, 'sec-fetch-site': 'none' }, P).ok, true);
});

test('two_origin_headers_are_refused', () => {
  assert.equal(requestVerdict('GET', { ...own, origin: [`http://127.0.0.1:${P}`, 'http://evil.example'] }, P).ok, false);
});

test('upstream_headers_carry_the_token_and_drop_the_callers_credentials', () => {
  const h = upstreamRequestHeaders(
    { host: own.host, authorization: 'Bearer stolen', cookie: 'a=b', origin: `http://127.0.0.1:${P}`, referer: 'x', 'x-ambient-request': '1', 'content-type': 'application/json', accept: 'text/event-stream' },
    'tok',
    'ambient-controller.ambient-system.svc',
  );
  assert.deepEqual(h, {
    host: 'ambient-controller.ambient-system.svc',
    authorization: 'Bearer tok',
    'x-ambient-request': '1',
    'content-type': 'application/json',
    accept: 'text/event-stream',
  });
});

test('upstream_headers_drop_hop_by_hop_and_those_connection_names', () => {
  const h = upstreamRequestHeaders({ connection: 'keep-alive, x-secret', 'x-secret': 's', 'keep-alive': '5', upgrade: 'websocket', te: 'trailers', 'x-keep': 'k' }, 't', 'c');
  assert.deepEqual(Object.keys(h).sort(), ['authorization', 'host', 'x-keep']);
});

test('response_headers_drop_hop_by_hop_and_cookies', () => {
  const h = downstreamResponseHeaders({ 'content-type': 'application/json', connection: 'close', 'transfer-encoding': 'chunked', 'set-cookie': ['a=b'], 'www-authenticate': 'Bearer', 'cache-control': 'no-store' });
  assert.deepEqual(h, { 'content-type': 'application/json', 'cache-control': 'no-store' });
});

test('event_streams_are_recognised', () => {
  assert.ok(isEventStream({ 'content-type': 'text/event-stream; charset=utf-8' }));
  assert.equal(isEventStream({ 'content-type': 'application/json' }), false);
});

test('port_and_service_account_flags_name_a_bad_value', () => {
  assert.equal(parsePort('0'), 0);
  assert.equal(parsePort('8080'), 8080);
  assert.match(String(parsePort('70000')), /--port 70000/);
  assert.match(String(parsePort('x')), /--port "x"/);
  assert.deepEqual(parseServiceAccount('apps/deployer'), { namespace: 'apps', name: 'deployer' });
  assert.match(String(parseServiceAccount('deployer')), /--service-account "deployer" is not NAMESPACE\/NAME/);
});

test('the_lease_holder_is_preferred_among_running_controller_pods', () => {
  const pods = [
    { name: 'c-b', phase: 'Running', podIP: '10.0.0.2' },
    { name: 'c-a', phase: 'Running', podIP: '10.0.0.1' },
    { name: 'c-c', phase: 'Pending' },
  ];
  assert.equal(pickControllerPod(pods, 'c-b_5f0c2a')?.name, 'c-b');
  assert.equal(pickControllerPod(pods, 'c-b')?.name, 'c-b');
  assert.equal(pickControllerPod(pods, undefined)?.name, 'c-a');
  assert.equal(pickControllerPod(pods, 'c-c')?.name, 'c-a', 'a leader that is not running is not chosen');
  assert.equal(pickControllerPod([{ name: 'x', phase: 'Running', podIP: '1', deleting: true }], 'x'), undefined);
});
