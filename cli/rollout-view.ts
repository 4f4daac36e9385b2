// What `ambientctl rollout status` prints: a Rollout's phase, step, canary weight, message
// and, when rolled back on a gate, the gate with the measured value and its bound. Pure.
import type { Column } from './output.js';

export interface RolloutObject {
  metadata?: { name?: string; namespace?: string; generation?: number };
  spec?: { service?: unknown; stable?: unknown; canary?: unknown; steps?: unknown; paused?: unknown; abort?: unknown };
  status?: {
    phase?: string;
    canaryWeight?: number;
    step?: number;
    message?: string;
    stepStartedAt?: string;
    observedGeneration?: number;
    failedGate?: { gate?: string; measured?: number; threshold?: number } | null;
  };
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function stepsOf(o: RolloutObject): number[] {
  return Array.isArray(o.spec?.steps) ? o.spec.steps.filter((s): s is number => typeof s === 'number') : [];
}

/** `2 of 4`, or `-` before the controller has looked. */
export function stepText(o: RolloutObject): string {
  const s = o.status?.step;
  if (typeof s !== 'number' || !o.status?.phase) return '-';
  const n = stepsOf(o).length;
  return n > 0 ? `${s + 1} of ${n}` : String(s + 1);
}

/** A failed gate as a sentence: `minSuccessRate: measured 87.5%, bound 99%`. */
export function gateText(g: { gate?: string; measured?: number; threshold?: number } | null | undefined): string {
  if (!g || typeof g.gate !== 'string') return '';
  const fmt = (v: number | undefined) => (v === undefined ? '?' : g.gate === 'minSuccessRate' ? `${Math.round(v * 10000) / 100}%` : `${Math.round(v)}ms`);
  return `${g.gate}: measured ${fmt(g.measured)}, bound ${fmt(g.threshold)}`;
}

/** The phase, with what the spec asks that the controller has not acted on yet. */
export function phaseText(o: RolloutObject): string {
  const phase = o.status?.phase ?? 'Pending';
  const generation = o.metadata?.generation;
  const seen = o.status?.observedGeneration;
  const stale = typeof generation === 'number' && typeof seen === 'number' && seen < generation;
  return stale ? `${phase} (spec changed; the controller has not acted on it yet)` : phase;
}

/** `rollout status NAME`: one block of `key: value` lines. */
export function renderRolloutStatus(o: RolloutObject): string {
  const ns = o.metadata?.namespace ?? '';
  const name = o.metadata?.name ?? '';
  const st = o.status ?? {};
  const lines: Array<[string, string]> = [
    ['Rollout', `${ns}/${name}`],
    ['Service', `${str(o.spec?.service)} (stable ${str(o.spec?.stable)}, canary ${str(o.spec?.canary)})`],
    ['Phase', phaseText(o)],
    ['Step', `${stepText(o)}${stepsOf(o).length ? ` (steps ${stepsOf(o).join(', ')})` : ''}`],
    ['Canary weight', typeof st.canaryWeight === 'number' ? `${st.canaryWeight}%` : '-'],
    ['Message', st.message ?? (st.phase ? '' : 'the controller has not looked at this rollout yet')],
  ];
  if (st.stepStartedAt) lines.push(['Step started', st.stepStartedAt]);
  if (o.spec?.paused === true) lines.push(['Paused', 'yes (ambientctl rollout resume to continue)']);
  if (o.spec?.abort === true) lines.push(['Aborted', 'yes (a rolled-back rollout starts again only when its service, stable, canary or steps change)']);
  const gate = gateText(st.failedGate);
  if (gate) lines.push(['Failed gate', gate]);
  const width = Math.max(...lines.map(([k]) => k.length)) + 1;
  return `${lines.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd()).join('\n')}\n`;
}

export const ROLLOUT_COLUMNS: Column<RolloutObject>[] = [
  { header: 'name', value: (o) => o.metadata?.name ?? '' },
  { header: 'service', value: (o) => str(o.spec?.service) },
  { header: 'stable', value: (o) => str(o.spec?.stable) },
  { header: 'canary', value: (o) => str(o.spec?.canary) },
  { header: 'phase', value: (o) => o.status?.phase ?? 'Pending' },
  { header: 'step', value: stepText },
  { header: 'weight', value: (o) => (typeof o.status?.canaryWeight === 'number' ? `${o.status.canaryWeight}%` : '-') },
  { header: 'message', value: (o) => o.status?.message ?? '' },
];
