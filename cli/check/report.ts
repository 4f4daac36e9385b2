// `ambientctl check`'s results and how they print: groups of named checks, each passed (√),
// failed (×) or a warning (‼), a failure or warning with the reason and the fix (a command
// to run, or where to read); a summary; the exit code non-zero on any failure (warnings do
// not fail). Pure.
import type { OutputFormat } from '../output.js';
import { renderOne } from '../output.js';

export type CheckState = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  /** What is checked, as a statement that holds when it passes ("the API server is reachable"). */
  name: string;
  state: CheckState;
  /** Why it failed or warns (absent when it passed), or what it passed on when that matters. */
  reason?: string;
  /** What to do: a command to run, or `see: docs/install.md#...`. */
  fix?: string;
}

export interface CheckGroup {
  name: string;
  results: CheckResult[];
}

/** What was checked: before install (`--pre`), the installed mesh, or what is left of one that is not installed. */
export type CheckMode = 'pre' | 'installed' | 'uninstalled';

export interface CheckReport {
  mode: CheckMode;
  /** A sentence printed before the groups (e.g. "the mesh is not installed"). */
  headline?: string;
  groups: CheckGroup[];
}

export const pass = (name: string, reason?: string): CheckResult => ({ name, state: 'pass', ...(reason !== undefined && { reason }) });
export const fail = (name: string, reason: string, fix?: string): CheckResult => ({ name, state: 'fail', reason, ...(fix !== undefined && { fix }) });
export const warn = (name: string, reason: string, fix?: string): CheckResult => ({ name, state: 'warn', reason, ...(fix !== undefined && { fix }) });

export interface Summary {
  passed: number;
  warnings: number;
  failed: number;
}

export function summarize(r: CheckReport): Summary {
  const all = r.groups.flatMap((g) => g.results);
  return { passed: all.filter((c) => c.state === 'pass').length, warnings: all.filter((c) => c.state === 'warn').length, failed: all.filter((c) => c.state === 'fail').length };
}

/** 1 when any check failed, else 0: warnings do not fail. */
export const exitCodeOf = (r: CheckReport): number => (summarize(r).failed > 0 ? 1 : 0);

export const MARK: Record<CheckState, string> = { pass: '√', warn: '‼', fail: '×' };

const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

function renderText(r: CheckReport): string {
  const out: string[] = [];
  if (r.headline) out.push(`${r.headline}\n\n`);
  for (const g of r.groups) {
    out.push(`${g.name}\n${'-'.repeat(g.name.length)}\n`);
    for (const c of g.results) {
      out.push(`${MARK[c.state]} ${c.name}\n`);
      if (c.state !== 'pass' && c.reason) out.push(`${indent(c.reason)}\n`);
      if (c.state !== 'pass' && c.fix) out.push(`${indent(`fix: ${c.fix}`)}\n`);
    }
    out.push('\n');
  }
  const s = summarize(r);
  const mark = s.failed > 0 ? MARK.fail : s.warnings > 0 ? MARK.warn : MARK.pass;
  out.push(`Status check results are ${mark} (${s.passed} passed, ${s.warnings} ${s.warnings === 1 ? 'warning' : 'warnings'}, ${s.failed} failed)\n`);
  return out.join('');
}

export function renderReport(r: CheckReport, format: OutputFormat): string {
  if (format === 'table') return renderText(r);
  const s = summarize(r);
  return renderOne({ mode: r.mode, ...(r.headline !== undefined && { headline: r.headline }), success: s.failed === 0, summary: s, groups: r.groups }, format);
}
