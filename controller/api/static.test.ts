import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentTypeOf, staticTarget } from './static.js';

test('page_paths_and_their_subpaths_are_the_console_index', () => {
  for (const p of ['/', '/index.html', '/graph', '/workloads', '/services/apps/echo', '/policies', '/flows', '/mesh']) assert.deepEqual(staticTarget(p), { kind: 'index' }, p);
});

test('assets_are_files_under_assets', () => {
  assert.deepEqual(staticTarget('/assets/app.js'), { kind: 'asset', relative: 'assets/app.js' });
  assert.deepEqual(staticTarget('/assets/fonts/a.woff2'), { kind: 'asset', relative: 'assets/fonts/a.woff2' });
});

test('a_path_never_leaves_the_console_directory', () => {
  for (const p of ['/assets/../secret', '/assets/%2e%2e/x', '/assets/a/../../b', '/assets/.env', '/assets/a%5C..%5Cb', '/assets/', '/assets/a%00', '/assets//etc/passwd', '/assets/%E0%A4%A']) {
    assert.deepEqual(staticTarget(p), { kind: 'not-found' }, p);
  }
});

test('other_paths_are_not_found', () => {
  assert.deepEqual(staticTarget('/etc/passwd'), { kind: 'not-found' });
  assert.deepEqual(staticTarget('/graphs'), { kind: 'not-found' });
});

test('content_types_by_extension', () => {
  assert.equal(contentTypeOf('assets/app.js'), 'text/javascript; charset=utf-8');
  assert.equal(contentTypeOf('x.unknown'), 'application/octet-stream');
});
