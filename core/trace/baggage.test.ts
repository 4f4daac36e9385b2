// W3C Baggage: the header's grammar and limits (https://www.w3.org/TR/baggage/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBERS, formatBaggage, parseBaggage } from './baggage.js';

test('baggage_parses_the_spec_example_with_properties_and_percent_encoding', () => {
  assert.deepEqual(parseBaggage('key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue'), [
    { key: 'key1', value: 'value1', properties: ['property1', 'property2'] },
    { key: 'key2', value: 'value2', properties: [] },
    { key: 'key3', value: 'value3', properties: ['propertyKey=propertyValue'] },
  ]);
  assert.equal(parseBaggage('userId=alice%20smith')?.[0]?.value, 'alice smith');
});

test('baggage_that_does_not_parse_is_discarded_whole', () => {
  for (const bad of ['novalue', 'k=v w', 'k=%zz', 'k y=v', '=v', 'k=v;bad prop']) assert.equal(parseBaggage(bad), undefined, bad);
});

test('baggage_over_the_limits_drops_whole_members_from_the_end', () => {
  const many = Array.from({ length: BAGGAGE_MAX_MEMBERS + 5 }, (_, i) => `k${i}=v`).join(',');
  assert.equal(parseBaggage(many)?.length, BAGGAGE_MAX_MEMBERS);
  const big = Array.from({ length: 20 }, (_, i) => `k${i}=${'x'.repeat(1000)}`).join(',');
  const kept = parseBaggage(big)!;
  assert.ok(formatBaggage(kept)!.length <= BAGGAGE_MAX_BYTES);
  assert.equal(kept.length, 8);
  assert.equal(kept.at(-1)?.value.length, 1000, 'members are dropped, never truncated');
});

test('baggage_formats_with_values_percent_encoded', () => {
  assert.equal(formatBaggage([{ key: 'user', value: 'a b,c', properties: ['p'] }]), 'user=a%20b%2Cc;p');
  assert.equal(formatBaggage([]), undefined);
});
