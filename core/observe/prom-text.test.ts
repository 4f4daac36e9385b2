import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from './prom-text.js';

test('samples with and without labels are read, comments skipped', () => {
  const r = parsePrometheusText('# HELP x y\n# TYPE x counter\nx 3\ny{a="1",b="two"} 4.5\n\n');
  assert.deepEqual(r.samples, [
    { name: 'x', labels: {}, value: 3 },
    { name: 'y', labels: { a: '1', b: 'two' }, value: 4.5 },
  ]);
  assert.equal(r.malformed, 0);
});

test('escaped quotes, backslashes and newlines in label values are unescaped', () => {
  const r = parsePrometheusText('m{path="/a\\"b",p="c\\\\d",n="l1\\nl2"} 1\n');
  assert.deepEqual(r.samples[0]?.labels, { path: '/a"b', p: 'c\\d', n: 'l1\nl2' });
});

test('a comma or brace inside a quoted label value does not end the label', () => {
  const r = parsePrometheusText('m{a="x,y}z",b="2"} 7\n');
  assert.deepEqual(r.samples[0]?.labels, { a: 'x,y}z', b: '2' });
  assert.equal(r.samples[0]?.value, 7);
});

test('+Inf bucket bounds and special values parse; a timestamp is ignored', () => {
  const r = parsePrometheusText('h_bucket{le="+Inf"} 12 1700000000000\ng +Inf\nn NaN\n');
  assert.equal(r.samples[0]?.labels['le'], '+Inf');
  assert.equal(r.samples[0]?.value, 12);
  assert.equal(r.samples[1]?.value, Infinity);
  assert.ok(Number.isNaN(r.samples[2]?.value));
});

test('a malformed line is skipped and counted, the others still read', () => {
  const r = parsePrometheusText('good 1\n{bad="x"} 2\nm{a=1} 3\nm{a="unterminated} 4\nv notanumber\nok{a="b"} 5\n');
  assert.deepEqual(r.samples.map((s) => s.name), ['good', 'ok']);
  assert.equal(r.malformed, 4);
});

test('what prom-client writes reads back', async () => {
  const { Registry, Counter, Histogram } = await import('prom-client');
  const reg = new Registry();
  const c = new Counter({ name: 'c_total', help: 'h', labelNames: ['k'], registers: [reg] });
  const h = new Histogram({ name: 'd', help: 'h', buckets: [1, 10], registers: [reg] });
  c.inc({ k: 'a "quoted" \\ value' }, 2);
  h.observe(5);
  const r = parsePrometheusText(await reg.metrics());
  assert.equal(r.malformed, 0);
  assert.deepEqual(r.samples.find((s) => s.name === 'c_total')?.labels, { k: 'a "quoted" \\ value' });
  assert.equal(r.samples.find((s) => s.name === 'd_bucket' && s.labels['le'] === '10')?.value, 1);
  assert.equal(r.samples.find((s) => s.name === 'd_bucket' && s.labels['le'] === '1')?.value, 0);
});
