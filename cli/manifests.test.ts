// Reading manifests for apply/delete -f: every document on its own, problems in place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectPaths, describeOrigin, expandPaths, isProblem, parseManifests, readManifests, type Manifest, type ManifestProblem } from './manifests.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n`;

test('bad_middle_document_is_a_problem_and_the_documents_around_it_are_read', () => {
  const text = [cm('first'), 'a: [b\n', cm('last')].join('---\n');
  const entries = parseManifests(text, 'f.yaml');
  assert.equal(entries.length, 3);
  assert.equal((entries[0] as Manifest).obj.metadata?.name, 'first');
  assert.ok(isProblem(entries[1]!));
  assert.match((entries[1] as ManifestProblem).message, /^error parsing "f\.yaml" \(document 2\): \S/);
  assert.doesNotMatch((entries[1] as ManifestProblem).message, /[:\n]$/);
  assert.equal((entries[2] as Manifest).obj.metadata?.name, 'last');
  assert.deepEqual((entries[2] as Manifest).origin, { file: 'f.yaml', document: 3 });
});

test('document_without_apiVersion_or_kind_is_a_problem_naming_what_is_missing', () => {
  const entries = parseManifests(['kind: Pod\n', '42\n', cm('ok')].join('---\n'), 'g.yaml');
  assert.equal((entries[0] as ManifestProblem).message, 'error validating "g.yaml" (document 1): apiVersion not set');
  assert.equal((entries[1] as ManifestProblem).message, 'error validating "g.yaml" (document 2): apiVersion and kind not set');
  assert.equal((entries[2] as Manifest).obj.kind, 'ConfigMap');
});

test('empty_documents_are_skipped_and_lists_give_their_items', () => {
  const list = 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- {kind: ConfigMap}\n';
  const entries = parseManifests(`---\n# nothing\n---\n${list}---\n`, 'l.yaml');
  assert.equal(entries.length, 2);
  assert.deepEqual((entries[0] as Manifest).origin, { file: 'l.yaml', document: 2, item: 1 });
  assert.equal((entries[1] as ManifestProblem).message, 'error validating "l.yaml" (document 2, item 2): apiVersion not set');
  assert.equal(describeOrigin({ file: 'x', document: 1 }), '"x" (document 1)');
});

test('filename_option_accepts_repeats_and_commas', () => {
  assert.deepEqual(collectPaths('a.yaml', undefined), ['a.yaml']);
  assert.deepEqual(collectPaths('b.yaml,c.yaml', ['a.yaml']), ['a.yaml', 'b.yaml', 'c.yaml']);
});

test('paths_expand_directories_in_order_and_a_missing_path_stops_before_anything_is_read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'b.yaml'), cm('b'));
  writeFileSync(join(dir, 'd', 'a.yml'), cm('a'));
  writeFileSync(join(dir, 'd', 'notes.txt'), 'not a manifest');
  writeFileSync(join(dir, 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }));
  mkdirSync(join(dir, 'd', 'sub'));
  writeFileSync(join(dir, 'd', 'sub', 'x.yaml'), cm('x'));
  assert.deepEqual(await expandPaths([join(dir, 'c.json'), join(dir, 'd')]), [join(dir, 'c.json'), join(dir, 'd', 'a.yml'), join(dir, 'd', 'b.yaml')]);
  assert.deepEqual(await expandPaths([join(dir, 'd')], true), [join(dir, 'd', 'a.yml'), join(dir, 'd', 'b.yaml'), join(dir, 'd', 'sub', 'x.yaml')]);
  const names = (await readManifests([join(dir, 'd'), join(dir, 'c.json')])).map((e) => (e as Manifest).obj.metadata?.name);
  assert.deepEqual(names, ['a', 'b', 'c']);
  await assert.rejects(expandPaths([join(dir, 'c.json'), join(dir, 'nope.yaml')]), /the path ".*nope\.yaml" does not exist/);
  await assert.rejects(expandPaths([]), /must specify -f/);
  await assert.rejects(expandPaths(['-', '-']), /stdin \(-\) can be read only once/);
});
