// CustomResourceDefinitions (apiextensions.k8s.io/v1), pure: what makes one valid (the
// checks of kube-apiserver's CRD validation this server relies on: names, scope, one
// served and stored version with a structural schema whose CEL rules compile, printer
// columns), its defaults, its status (NamesAccepted and Established, acceptedNames), and the
// kind it makes served (kinds.ts's KindInfo). A CRD this server could not serve faithfully
// (several versions, a scale subresource, a conversion webhook) is refused with a message
// that says so, rather than half-served.
import type { StatusCause } from './api-errors.js';
import { ruleCompileErrors } from './cel-rules.js';
import { FieldErrors } from './field-errors.js';
import type { KObject, KindInfo, PrinterColumn, Verb } from './kinds.js';
import { resourceKey } from './kinds.js';
import { structuralErrors, type Schema } from './structural-schema.js';
import { parseJsonPath } from './json-path.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KIND_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const COLUMN_TYPES = ['string', 'integer', 'number', 'boolean', 'date'];
const ALL_VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Names {
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  shortNames: string[];
  categories: string[];
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The CRD with kube-apiserver's defaults: singular, listKind, conversion None. */
export function defaultCrd(crd: KObject): KObject {
  const out = structuredClone(crd);
  const spec = isObj(out['spec']) ? out['spec'] : undefined;
  if (!spec) return out;
  const names = isObj(spec['names']) ? spec['names'] : undefined;
  if (names && typeof names['kind'] === 'string') {
    if (names['singular'] === undefined || names['singular'] === '') names['singular'] = names['kind'].toLowerCase();
    if (names['listKind'] === undefined || names['listKind'] === '') names['listKind'] = `${names['kind']}List`;
  }
  if (spec['conversion'] === undefined) spec['conversion'] = { strategy: 'None' };
  return out;
}

function namesOf(spec: Obj): Names | undefined {
  const n = isObj(spec['names']) ? spec['names'] : undefined;
  if (!n || typeof n['plural'] !== 'string' || typeof n['kind'] !== 'string') return undefined;
  return {
    plural: n['plural'],
    singular: typeof n['singular'] === 'string' ? n['singular'] : n['kind'].toLowerCase(),
    kind: n['kind'],
    listKind: typeof n['listKind'] === 'string' ? n['listKind'] : `${n['kind']}List`,
    shortNames: strings(n['shortNames']),
    categories: strings(n['categories']),
  };
}

/**
 * Field errors of a CRD (empty when valid). `old` is the stored CRD on an update; `served`
 * the kinds served now, for name conflicts (the CRD's own kind excluded).
 */
export function validateCrd(crd: KObject, old: KObject | undefined, served: readonly KindInfo[]): StatusCause[] {
  const e = new FieldErrors();
  const spec = e.object('spec', crd['spec']);
  if (!spec) {
    e.required('spec');
    return e.causes;
  }
  const group = spec['group'];
  if (typeof group !== 'string' || group === '') e.required('spec.group');
  else if (!DNS_SUBDOMAIN.test(group) || !group.includes('.')) e.invalid('spec.group', group, 'should be a domain with at least one dot');
  const n = e.object('spec.names', spec['names']);
  if (!n) e.required('spec.names');
  else {
    for (const f of ['plural', 'singular'] as const) {
      const v = n[f];
      if (f === 'plural' && (typeof v !== 'string' || v === '')) e.required(`spec.names.${f}`);
      else if (v !== undefined && (typeof v !== 'string' || !DNS_LABEL.test(v))) e.invalid(`spec.names.${f}`, v, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
    }
    for (const f of ['kind', 'listKind'] as const) {
      const v = n[f];
      if (f === 'kind' && (typeof v !== 'string' || v === '')) e.required(`spec.names.${f}`);
      else if (v !== undefined && (typeof v !== 'string' || !KIND_NAME.test(v))) e.invalid(`spec.names.${f}`, v, 'may have mixed case, but should otherwise match: ^[a-z]([-a-z0-9]*[a-z0-9])?$');
    }
    e.list('spec.names.shortNames', n['shortNames']).forEach((s, i) => {
      if (typeof s !== 'string' || !DNS_LABEL.test(s)) e.invalid(`spec.names.shortNames[${i}]`, s, 'must be a lowercase RFC 1123 label');
    });
    e.list('spec.names.categories', n['categories']).forEach((s, i) => {
      if (typeof s !== 'string' || !DNS_LABEL.test(s)) e.invalid(`spec.names.categories[${i}]`, s, 'must be a lowercase RFC 1123 label');
    });
  }
  const names = namesOf(spec);
  const name = crd.metadata?.name;
  if (names && typeof group === 'string' && name !== `${names.plural}.${group}`) e.invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group');
  if (spec['scope'] === undefined) e.required('spec.scope');
  else e.oneOf('spec.scope', spec['scope'], ['Namespaced', 'Cluster']);
  const oldSpec = isObj(old?.['spec']) ? old['spec'] : undefined;
  if (oldSpec && oldSpec['scope'] !== undefined && spec['scope'] !== oldSpec['scope']) e.immutable('spec.scope', spec['scope']);
  const conversion = isObj(spec['conversion']) ? spec['conversion'] : undefined;
  if (conversion && conversion['strategy'] !== undefined && conversion['strategy'] !== 'None') {
    e.notSupported('spec.conversion.strategy', conversion['strategy'], ['None']);
  }
  validateVersions(e, spec['versions']);
  if (names && typeof group === 'string') {
    for (const k of served) {
      if (k.group !== group || k.definedBy === name) continue;
      if (k.plural === names.plural) e.invalid('spec.names.plural', names.plural, `${resourceKey(k)} is already served by this server`);
      if (k.kind === names.kind) e.invalid('spec.names.kind', names.kind, `kind ${k.kind} of group ${group} is already served by this server`);
    }
  }
  return e.causes;
}

function validateVersions(e: FieldErrors, v: unknown): void {
  const versions = e.list('spec.versions', v);
  if (versions.length === 0) return e.required('spec.versions', 'must have exactly one version');
  // One version: conversion between stored and served versions is not implemented here.
  if (versions.length > 1) e.forbidden('spec.versions', 'this API server serves CRDs with exactly one version (no conversion between versions)');
  versions.forEach((ver, i) => {
    const p = `spec.versions[${i}]`;
    const o = e.object(p, ver);
    if (!o) return;
    if (typeof o['name'] !== 'string' || !DNS_LABEL.test(o['name'])) e.invalid(`${p}.name`, o['name'], 'must be a DNS label such as v1');
    if (o['served'] !== true) e.invalid(`${p}.served`, o['served'], 'the one version must be served');
    if (o['storage'] !== true) e.invalid(`${p}.storage`, o['storage'], 'must have exactly one version marked as storage version');
    const schemaHolder = e.object(`${p}.schema`, o['schema']);
    const schema = schemaHolder?.['openAPIV3Schema'];
    if (schema === undefined) e.required(`${p}.schema.openAPIV3Schema`, 'schemas are required');
    else {
      const sp = `${p}.schema.openAPIV3Schema`;
      const structural = structuralErrors(schema, sp);
      for (const s of structural) e.causes.push({ reason: s.message.startsWith('Required') ? 'FieldValueRequired' : s.message.startsWith('Forbidden') ? 'FieldValueForbidden' : 'FieldValueInvalid', message: s.message, field: s.field });
      if (structural.length === 0) for (const c of ruleCompileErrors(schema as Schema, sp)) e.invalid(c.field, c.value, c.message);
    }
    const sub = o['subresources'];
    if (sub !== undefined) {
      const s = e.object(`${p}.subresources`, sub);
      for (const key of Object.keys(s ?? {})) {
        if (key !== 'status') e.forbidden(`${p}.subresources.${key}`, `the ${key} subresource is not supported by this API server (status is)`);
      }
    }
    e.list(`${p}.additionalPrinterColumns`, o['additionalPrinterColumns']).forEach((c, j) => {
      const cp = `${p}.additionalPrinterColumns[${j}]`;
      const col = e.object(cp, c);
      if (!col) return;
      if (typeof col['name'] !== 'string' || col['name'] === '') e.required(`${cp}.name`);
      if (col['type'] === undefined) e.required(`${cp}.type`);
      else e.oneOf(`${cp}.type`, col['type'], COLUMN_TYPES);
      if (typeof col['jsonPath'] !== 'string' || col['jsonPath'] === '') e.required(`${cp}.jsonPath`);
      else {
        const why = parseJsonPath(col['jsonPath']).error;
        if (why) e.invalid(`${cp}.jsonPath`, col['jsonPath'], why);
      }
    });
  });
}

/** The status kube-apiserver's CRD controllers write: names accepted, established, the stored version. */
export function crdStatus(crd: KObject, old: KObject | undefined, now: string): Obj {
  const spec = (crd['spec'] ?? {}) as Obj;
  const names = namesOf(spec);
  const prev = isObj(old?.['status']) ? ((old['status'] as Obj)['conditions'] as Obj[] | undefined) : undefined;
  const since = (type: string): string => {
    const c = Array.isArray(prev) ? prev.find((x) => isObj(x) && x['type'] === type && x['status'] === 'True') : undefined;
    return typeof c?.['lastTransitionTime'] === 'string' ? c['lastTransitionTime'] : now;
  };
  const versions = Array.isArray(spec['versions']) ? (spec['versions'] as Obj[]) : [];
  const storage = versions.filter((v) => isObj(v) && v['storage'] === true).map((v) => v['name']);
  return {
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: since('NamesAccepted'), reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: since('Established'), reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    acceptedNames: names
      ? {
          plural: names.plural,
          singular: names.singular,
          kind: names.kind,
          listKind: names.listKind,
          ...(names.shortNames.length ? { shortNames: names.shortNames } : {}),
          ...(names.categories.length ? { categories: names.categories } : {}),
        }
      : {},
    storedVersions: [...new Set([...((isObj(old?.['status']) && Array.isArray((old['status'] as Obj)['storedVersions']) ? (old['status'] as Obj)['storedVersions'] : []) as string[]), ...storage])],
  };
}

/** The kind a valid stored CRD makes served; undefined for one that is not (it is then not served). */
export function kindOfCrd(crd: KObject): KindInfo | undefined {
  const spec = isObj(crd['spec']) ? crd['spec'] : undefined;
  const names = spec && namesOf(spec);
  const version = spec && Array.isArray(spec['versions']) ? (spec['versions'] as unknown[]).find((v) => isObj(v) && v['served'] === true && v['storage'] === true) : undefined;
  if (!spec || !names || typeof spec['group'] !== 'string' || !isObj(version) || typeof version['name'] !== 'string') return undefined;
  const schema = isObj(version['schema']) ? (version['schema'] as Obj)['openAPIV3Schema'] : undefined;
  if (!isObj(schema)) return undefined;
  const sub = isObj(version['subresources']) ? version['subresources'] : {};
  const columns = Array.isArray(version['additionalPrinterColumns']) ? (version['additionalPrinterColumns'] as PrinterColumn[]) : [];
  return {
    group: spec['group'],
    version: version['name'],
    kind: names.kind,
    plural: names.plural,
    singular: names.singular,
    namespaced: spec['scope'] !== 'Cluster',
    shortNames: names.shortNames,
    verbs: ALL_VERBS,
    categories: names.categories,
    status: isObj(sub['status']),
    scale: false,
    crd: true,
    virtual: false,
    fields: {},
    definedBy: crd.metadata?.name ?? '',
    schema: schema as Schema,
    printerColumns: columns,
  };
}
