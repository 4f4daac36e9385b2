import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exitCodeOf, fail, pass, renderReport, summarize, warn, type CheckReport } from './report.js';

const report: CheckReport = {
  mode: 'pre',
  groups: [
    { name: 'kubernetes-api', results: [pass('the API server is reachable', 'https://k'), warn('the nodes run Linux', 'not Linux: w1 (windows)')] },
    { name: 'permissions', results: [fail('can create clusterroles.rbac.authorization.k8s.io', 'user "bob" may not create it\nsecond line', 'kubectl auth can-i create clusterroles.rbac.authorization.k8s.io')] },
  ],
};

test('text_report_marks_each_check_and_indents_reason_and_fix_under_failures_and_warnings_only', () => {
  assert.equal(
    renderReport(report, 'table'),
    [
      'kubernetes-api',
      '--------------',
      '√ the API server is reachable',
      '‼ the nodes run Linux',
      '    not Linux: w1 (windows)',
      '',
      'permissions',
      '-----------',
      '× can create clusterroles.rbac.authorization.k8s.io',
      '    user "bob" may not create it',
      '    second line',
      '    fix: kubectl auth can-i create clusterroles.rbac.authorization.k8s.io',
      '',
      'Status check results are × (1 passed, 1 warning, 1 failed)',
      '',
    ].join('\n'),
  );
});

test('exit_code_is_one_on_a_failure_and_zero_with_warnings_only', () => {
  assert.equal(exitCodeOf(report), 1);
  const warned: CheckReport = { mode: 'installed', groups: [{ name: 'g', results: [pass('a'), warn('b', 'why')] }] };
  assert.equal(exitCodeOf(warned), 0);
  assert.match(renderReport(warned, 'table'), /Status check results are ‼ \(1 passed, 1 warning, 0 failed\)\n$/);
  assert.match(renderReport({ mode: 'installed', groups: [{ name: 'g', results: [pass('a')] }] }, 'table'), /Status check results are √ \(1 passed, 0 warnings, 0 failed\)\n$/);
});

test('json_report_has_success_summary_and_every_check', () => {
  const j = JSON.parse(renderReport({ ...report, headline: 'h' }, 'json'));
  assert.equal(j.success, false);
  assert.equal(j.mode, 'pre');
  assert.equal(j.headline, 'h');
  assert.deepEqual(j.summary, summarize(report));
  assert.deepEqual(j.groups[1].results[0], { name: 'can create clusterroles.rbac.authorization.k8s.io', state: 'fail', reason: 'user "bob" may not create it\nsecond line', fix: 'kubectl auth can-i create clusterroles.rbac.authorization.k8s.io' });
});
