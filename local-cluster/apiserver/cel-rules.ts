// CEL validation rules (a schema's x-kubernetes-validations), compiled when a CRD is
// stored and evaluated at every write of its objects, as kube-apiserver does:
//   - `self` is the value at the rule's node; `oldSelf` the same value before an update
//     (a rule that names oldSelf is a transition rule: it runs only on updates where the old
//     value exists, unless optionalOldSelf);
//   - a rule that returns false is a field error at the node (plus `fieldPath`), worded
//     `spec: Invalid value: "object": <message>` (or the rule's `reason`);
//   - a rule that cannot be evaluated (no such key, a non-boolean result) refuses the write:
//     fail closed, naming the rule and why.
// JSON integers reach CEL as int (BigInt), other numbers as double. Kubernetes' `isSorted()`
// list function is provided; cost budgets are not (objects are bounded by the size limit).
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { FieldErrors } from './field-errors.js';
import { childPath, type Schema, type ValidationRule } from './structural-schema.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const compare = (a: unknown, b: unknown): number => (typeof a === 'string' && typeof b === 'string' ? a.localeCompare(b) : (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);

const ENV = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 100, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 32 } })
  .registerVariable('self', 'dyn')
  .registerVariable('oldSelf', 'dyn')
  .registerFunction({
    name: 'isSorted',
    receiverType: 'list',
    returnType: 'bool',
    params: [],
    handler: (l: unknown[]) => l.every((x, i) => i === 0 || compare(l[i - 1], x) <= 0),
  });

const compiled = new Map<string, ParseResult>();

/** The first line of a CEL library error (the rest is a source excerpt). */
const firstLine = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0]!.trim();

/** Parses and type-checks a rule; the error text when it does not compile. */
export function compileRule(rule: string): { ok: true; program: ParseResult } | { ok: false; error: string } {
  const hit = compiled.get(rule);
  if (hit) return { ok: true, program: hit };
  try {
    const program = ENV.parse(rule);
    const checked = program.check();
    if (!checked.valid) return { ok: false, error: firstLine(checked.error) };
    if (checked.type !== 'bool' && checked.type !== 'dyn') return { ok: false, error: `the rule returns ${checked.type}, not bool` };
    if (compiled.size > 5000) compiled.clear();
    compiled.set(rule, program);
    return { ok: true, program };
  } catch (err) {
    return { ok: false, error: firstLine(err) };
  }
}

/** Every rule of `schema` that does not compile, as `<path>.x-kubernetes-validations[i].rule` and why. */
export function ruleCompileErrors(schema: Schema, path: string): { field: string; value: string; message: string }[] {
  const out: { field: string; value: string; message: string }[] = [];
  const walk = (s: Schema, p: string): void => {
    (s['x-kubernetes-validations'] ?? []).forEach((r, i) => {
      const c = compileRule(r.rule);
      if (!c.ok) out.push({ field: `${p}.x-kubernetes-validations[${i}].rule`, value: r.rule, message: `compilation failed: ${c.error}` });
      if (r.messageExpression !== undefined) {
        const m = compileRule(r.messageExpression);
        if (!m.ok) out.push({ field: `${p}.x-kubernetes-validations[${i}].messageExpression`, value: r.messageExpression, message: `compilation failed: ${m.error}` });
      }
    });
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${p}.properties[${k}]`);
    if (isObj(s.additionalProperties)) walk(s.additionalProperties as Schema, `${p}.additionalProperties`);
    if (s.items) walk(s.items, `${p}.items`);
  };
  walk(schema, path);
  return out;
}

/** Does any node of `schema` carry rules? (Most objects' writes then skip the walk.) */
export function hasRules(schema: Schema): boolean {
  if ((schema['x-kubernetes-validations'] ?? []).length > 0) return true;
  return Object.values(schema.properties ?? {}).some(hasRules) || (isObj(schema.additionalProperties) && hasRules(schema.additionalProperties as Schema)) || (!!schema.items && hasRules(schema.items));
}

/** A JSON value as CEL sees it under `schema`: integers as int (BigInt). */
export function toCel(v: unknown, schema: Schema | undefined): unknown {
  if (typeof v === 'number') return Number.isInteger(v) && schema?.type !== 'number' ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => toCel(x, schema?.items));
  if (isObj(v)) {
    const values = isObj(schema?.additionalProperties) ? (schema!.additionalProperties as Schema) : undefined;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toCel(x, schema?.properties?.[k] ?? values)]));
  }
  return v;
}

const TRANSITION = /\boldSelf\b/;

/** The schema type name kube-apiserver shows as a failing rule's value. */
const typeName = (s: Schema): string => s.type ?? (s['x-kubernetes-int-or-string'] ? 'integer-or-string' : 'object');

function report(e: FieldErrors, path: string, s: Schema, rule: ValidationRule, message: string): void {
  const field = rule.fieldPath ? (path === '' ? rule.fieldPath.replace(/^\./, '') : `${path}${rule.fieldPath.startsWith('.') || rule.fieldPath.startsWith('[') ? '' : '.'}${rule.fieldPath}`) : path;
  switch (rule.reason) {
    case 'FieldValueForbidden':
      return e.forbidden(field, message);
    case 'FieldValueRequired':
      return e.required(field, message);
    case 'FieldValueDuplicate':
      return e.duplicate(field, message);
    default:
      return e.invalid(field, typeName(s), message);
  }
}

function evaluate(rule: string, ctx: { self: unknown; oldSelf?: unknown }): { ok: true; value: unknown } | { ok: false; error: string } {
  const c = compileRule(rule);
  if (!c.ok) return { ok: false, error: `compilation failed: ${c.error}` };
  try {
    return { ok: true, value: c.program(ctx) };
  } catch (err) {
    return { ok: false, error: firstLine(err) };
  }
}

function runRules(e: FieldErrors, path: string, value: unknown, old: unknown, s: Schema): void {
  const rules = s['x-kubernetes-validations'] ?? [];
  if (rules.length === 0) return;
  const self = toCel(value, s);
  const oldSelf = old === undefined ? undefined : toCel(old, s);
  for (const rule of rules) {
    const transition = TRANSITION.test(rule.rule);
    if (transition && oldSelf === undefined && !rule.optionalOldSelf) continue;
    const ctx = transition ? { self, oldSelf: rule.optionalOldSelf ? oldSelfOptional(oldSelf) : oldSelf } : { self };
    const r = evaluate(rule.rule, ctx);
    if (!r.ok) {
      report(e, path, s, { ...rule, reason: 'FieldValueInvalid' }, `failed rule: ${rule.rule}: the rule could not be evaluated (${r.error}), so the write is refused`);
      continue;
    }
    if (r.value === true) continue;
    if (r.value !== false) {
      report(e, path, s, { ...rule, reason: 'FieldValueInvalid' }, `failed rule: ${rule.rule}: the rule returned ${typeof r.value}, not a boolean, so the write is refused`);
      continue;
    }
    let message = rule.message ?? `failed rule: ${rule.rule}`;
    if (rule.messageExpression !== undefined) {
      const m = evaluate(rule.messageExpression, ctx);
      if (m.ok && typeof m.value === 'string' && m.value.trim() !== '') message = m.value;
    }
    report(e, path, s, rule, message);
  }
}

/** With optionalOldSelf, oldSelf is an optional value: absent on create. Approximated as null. */
const oldSelfOptional = (v: unknown): unknown => (v === undefined ? null : v);

/**
 * Evaluates every rule of `schema` against `value` (and `old`, the value before an update),
 * recording failures in `e`. Run after the schema check: a value of the wrong type has
 * already been refused.
 */
export function checkRules(e: FieldErrors, path: string, value: unknown, old: unknown, schema: Schema): void {
  if (value === undefined || value === null) return;
  runRules(e, path, value, old, schema);
  if (Array.isArray(value) && schema.items) {
    const keys = schema['x-kubernetes-list-type'] === 'map' ? (schema['x-kubernetes-list-map-keys'] ?? []) : undefined;
    const oldItems = keys && Array.isArray(old) ? new Map(old.map((o) => [keyOf(o, keys), o])) : undefined;
    value.forEach((item, i) => checkRules(e, `${path}[${i}]`, item, oldItems?.get(keyOf(item, keys!)), schema.items!));
    return;
  }
  if (isObj(value)) {
    const oldObj = isObj(old) ? old : undefined;
    const values = isObj(schema.additionalProperties) ? (schema.additionalProperties as Schema) : undefined;
    for (const [k, v] of Object.entries(value)) {
      const s = schema.properties?.[k] ?? values;
      if (s && hasRules(s)) checkRules(e, childPath(path, k), v, oldObj?.[k], s);
    }
  }
}

const keyOf = (item: unknown, keys: readonly string[]): string => JSON.stringify(keys.map((k) => (isObj(item) ? item[k] : undefined) ?? null));
