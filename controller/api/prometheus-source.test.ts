import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePrometheusUrl } from './prometheus-source.js';

test('a_prometheus_url_keeps_its_path_as_a_prefix', () => {
  assert.equal(parsePrometheusUrl('http://prometheus.monitoring.svc:9090').href, 'http://prometheus.monitoring.svc:9090/');
  assert.equal(parsePrometheusUrl('https://monitoring.example/prometheus').href, 'https://monitoring.example/prometheus/');
  assert.equal(new URL('api/v1/query', parsePrometheusUrl('https://monitoring.example/prometheus')).href, 'https://monitoring.example/prometheus/api/v1/query');
});

test('a_prometheus_url_that_is_not_http_is_refused_saying_why', () => {
  assert.throws(() => parsePrometheusUrl('prometheus:9090'), /the scheme must be http or https/);
  assert.throws(() => parsePrometheusUrl('ftp://x'), /the scheme must be http or https/);
  assert.throws(() => parsePrometheusUrl('not a url'), /is not a URL/);
});

test('credentials_a_query_or_a_fragment_in_the_url_are_refused', () => {
  assert.throws(() => parsePrometheusUrl('http://admin:secret@prom:9090'), /credentials in the URL are not supported/);
  assert.throws(() => parsePrometheusUrl('http://prom:9090/?x=1'), /a query or fragment/);
  assert.throws(() => parsePrometheusUrl('http://prom:9090/#a'), /a query or fragment/);
});
