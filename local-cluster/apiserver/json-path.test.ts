import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evalJsonPath, parseJsonPath } from './json-path.js';

const obj = { spec: { action: 'DENY', refs: [{ name: 'a' }, { name: 'b' }], steps: [5, 50] }, status: { conditions: [{ type: 'Accepted', status: 'True' }, { type: 'Enforced', status: 'False' }] } };

test('printer_column_paths_find_fields_items_and_filtered_conditions', () => {
  assert.deepEqual(evalJsonPath(obj, '.spec.action'), ['DENY']);
  assert.deepEqual(evalJsonPath(obj, '.spec.refs[*].name'), ['a', 'b']);
  assert.deepEqual(evalJsonPath(obj, '.spec.steps[1]'), [50]);
  assert.deepEqual(evalJsonPath(obj, '.status.conditions[?(@.type=="Enforced")].status'), ['False']);
  assert.deepEqual(evalJsonPath(obj, '{.spec.missing.x}'), []);
});

test('paths_outside_the_subset_are_refused_with_where', () => {
  assert.equal(parseJsonPath('spec.action').error, 'must be a simple json path starting with .');
  assert.match(parseJsonPath('.spec..x').error ?? '', /unsupported json path at "\.\.x"/);
});
