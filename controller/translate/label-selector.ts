// A Kubernetes LabelSelector (metav1.LabelSelector: `matchLabels` and `matchExpressions`),
// read strictly and matched against a set of labels. Pure.
//
// Used where a selector grants something (a waypoint Gateway's
// `allowedRoutes.namespaces.selector`, ./waypoints.ts), so reading fails closed: anything
// metav1.LabelSelectorAsSelector refuses is refused here too (an unknown operator, In or
// NotIn without values, Exists or DoesNotExist with values, a key or value that is not a
// label's), and so is a field the selector does not have (`matchLabel`): ignored, it would
// leave an empty selector, which matches everything. The empty selector `{}` does match
// everything, as in Kubernetes.
//
// Matching is Kubernetes' (k8s.io/apimachinery/pkg/labels): every requirement must hold;
// `In` needs the key with one of the values, `NotIn` holds when the key is absent or has
// another value, `Exists` and `DoesNotExist` look at the key only.
import type { Labels } from './objects.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  /** Sorted; empty for Exists and DoesNotExist. */
  values: string[];
}

/** A checked selector: matchLabels become `In` requirements with one value. Sorted by key, then operator. */
export interface LabelSelector {
  requirements: SelectorRequirement[];
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

/** Why `key` is not a label key (an optional DNS subdomain and '/', then a name of at most 63 characters), or undefined. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !DNS_SUBDOMAIN.test(prefix)) return 'its prefix is not a lower-case DNS subdomain';
  if (name.length === 0 || name.length > 63 || !NAME.test(name)) return "its name is not 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
}

/** Why `value` is not a label value (empty, or at most 63 letters, digits, '-', '_', '.'), or undefined. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value)) return "it is not empty or 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
}

/**
 * Reads the selector at `path`, or says why not (naming the field and the value). `null`
 * or absent is not a selector: the caller decides what that means.
 */
export function readLabelSelector(v: unknown, path: string): { ok: true; selector: LabelSelector } | { ok: false; why: string } {
  const fail = (why: string) => ({ ok: false as const, why });
  if (!isRecord(v)) return fail(`${path} ${show(v)} is not a label selector (an object with matchLabels and/or matchExpressions)`);
  for (const k of Object.keys(v)) if (k !== 'matchLabels' && k !== 'matchExpressions') return fail(`${path}.${k} is not a field of a label selector (matchLabels, matchExpressions)`);
  const requirements: SelectorRequirement[] = [];
  const ml = v['matchLabels'];
  if (ml !== undefined && ml !== null) {
    if (!isRecord(ml)) return fail(`${path}.matchLabels ${show(ml)} is not a map of strings`);
    for (const [k, val] of Object.entries(ml)) {
      const at = `${path}.matchLabels[${JSON.stringify(k)}]`;
      const keyWhy = labelKeyProblem(k);
      if (keyWhy) return fail(`${at}: ${JSON.stringify(k)} is not a label key: ${keyWhy}`);
      if (typeof val !== 'string') return fail(`${at} ${show(val)} is not a string`);
      const valWhy = labelValueProblem(val);
      if (valWhy) return fail(`${at} ${show(val)} is not a label value: ${valWhy}`);
      requirements.push({ key: k, operator: 'In', values: [val] });
    }
  }
  const me = v['matchExpressions'];
  if (me !== undefined && me !== null) {
    if (!Array.isArray(me)) return fail(`${path}.matchExpressions ${show(me)} is not a list`);
    for (const [i, e] of me.entries()) {
      const at = `${path}.matchExpressions[${i}]`;
      if (!isRecord(e)) return fail(`${at} ${show(e)} is not an object with key, operator and values`);
      for (const k of Object.keys(e)) if (k !== 'key' && k !== 'operator' && k !== 'values') return fail(`${at}.${k} is not a field of a selector requirement (key, operator, values)`);
      const key = e['key'];
      if (typeof key !== 'string') return fail(`${at}.key ${show(key)} is not a string`);
      const keyWhy = labelKeyProblem(key);
      if (keyWhy) return fail(`${at}.key ${JSON.stringify(key)} is not a label key: ${keyWhy}`);
      const op = e['operator'];
      if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) return fail(`${at}.operator ${show(op)} is not one of ${OPERATORS.join(', ')}`);
      const rawValues = e['values'] === undefined || e['values'] === null ? [] : e['values'];
      if (!Array.isArray(rawValues)) return fail(`${at}.values ${show(rawValues)} is not a list of strings`);
      const values: string[] = [];
      for (const [j, val] of rawValues.entries()) {
        if (typeof val !== 'string') return fail(`${at}.values[${j}] ${show(val)} is not a string`);
        const valWhy = labelValueProblem(val);
        if (valWhy) return fail(`${at}.values[${j}] ${show(val)} is not a label value: ${valWhy}`);
        values.push(val);
      }
      if ((op === 'In' || op === 'NotIn') && values.length === 0) return fail(`${at}: operator ${op} needs at least one value`);
      if ((op === 'Exists' || op === 'DoesNotExist') && values.length > 0) return fail(`${at}: operator ${op} takes no values, got ${show(values)}`);
      requirements.push({ key, operator: op as SelectorOperator, values: [...new Set(values)].sort() });
    }
  }
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0));
  return { ok: true, selector: { requirements } };
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  return selector.requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    switch (r.operator) {
      case 'In':
        return has && r.values.includes(labels[r.key]!);
      case 'NotIn':
        return !has || !r.values.includes(labels[r.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
}

/** The selector in Kubernetes' string form (`team=web,env in (a,b),!legacy`); `<everything>` when empty. */
export function formatLabelSelector(selector: LabelSelector): string {
  if (selector.requirements.length === 0) return '<everything>';
  return selector.requirements
    .map((r) => {
      switch (r.operator) {
        case 'In':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'NotIn':
          return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
        case 'Exists':
          return r.key;
        case 'DoesNotExist':
          return `!${r.key}`;
      }
    })
    .join(',');
}
