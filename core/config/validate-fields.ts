// The field readers of wire validation (./validate.ts): each reads one value at a path and
// returns it typed, or throws Invalid naming the path and the value, so the resource
// validators above them read like the model. Pure.
import { isIP } from 'node:net';
import type { PolicyTargetRef } from './model.js';
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Keys and identifiers: printable, no whitespace (they appear in logs and dumps). */
const TOKEN = /^[\x21-\x7e]+$/;
const MAX_KEY = 512;

export class Invalid extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
  }
}

export const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = typeof v === 'bigint' ? `${v}n` : Object.prototype.toString.call(v); // BigInt, cycles
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
};

export type Obj = Record<string, unknown>;

export function obj(path: string, v: unknown): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Invalid(path, `must be an object, got ${show(v)}`);
  return v as Obj;
}

export function arr(path: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new Invalid(path, `must be an array, got ${show(v)}`);
  return v;
}

export function str(path: string, v: unknown): string {
  if (typeof v !== 'string') throw new Invalid(path, `must be a string, got ${show(v)}`);
  return v;
}

export function nonEmpty(path: string, v: unknown): string {
  const s = str(path, v);
  if (s === '') throw new Invalid(path, 'must not be empty');
  return s;
}

export function token(path: string, v: unknown): string {
  const s = nonEmpty(path, v);
  if (s.length > MAX_KEY || !TOKEN.test(s)) throw new Invalid(path, `${show(s)} must be 1-${MAX_KEY} printable characters without spaces`);
  return s;
}

export function bool(path: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Invalid(path, `must be true or false, got ${show(v)}`);
  return v;
}

export function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new Invalid(path, `${show(v)} is not one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export function port(path: string, v: unknown, { allowZero = false } = {}): number {
  const min = allowZero ? 0 : 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) {
    throw new Invalid(path, `${show(v)} is not a port number (${min}..65535)`);
  }
  return v;
}

export function ip(path: string, v: unknown): string {
  // isIP accepts an IPv6 zone ("fe80::1%eth0"); a zone means nothing off the node that
  // wrote it, so it is not a pod or service address.
  if (typeof v !== 'string' || isIP(v) === 0 || v.includes('%')) throw new Invalid(path, `${show(v)} is not an IP address`);
  return v;
}

export function cidrOrIp(path: string, v: unknown): string {
  const s = str(path, v);
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const family = addr.includes('%') ? 0 : isIP(addr);
  const bits = slash < 0 ? undefined : s.slice(slash + 1);
  const max = family === 6 ? 128 : 32;
  if (family === 0 || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
    throw new Invalid(path, `${show(s)} is not an IP address or CIDR block`);
  }
  return s;
}

export function dnsLabel(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 63 || !DNS1123_LABEL.test(s)) throw new Invalid(path, `${show(s)} is not a DNS-1123 label`);
  return s;
}

export function dnsSubdomain(path: string, v: unknown): string {
  const s = str(path, v);
  if (s.length > 253 || !DNS1123_SUBDOMAIN.test(s)) throw new Invalid(path, `${show(s)} is not a DNS-1123 subdomain`);
  return s;
}

export function stringMap(path: string, v: unknown): Record<string, string> {
  const o = obj(path, v);
  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, str(`${path}[${show(k)}]`, val)]));
}

export function stringList(path: string, v: unknown): string[] {
  return arr(path, v).map((x, i) => str(`${path}[${i}]`, x));
}

export function distinct<T>(path: string, items: readonly T[], keyOf: (t: T) => string, what: string): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    const first = seen.get(k);
    if (first !== undefined) throw new Invalid(`${path}[${i}]`, `duplicate ${what} ${show(k)} (also at ${path}[${first}])`);
    seen.set(k, i);
  });
}

/** Copies the optional field when present (undefined counts as absent, as in JSON). */
export function optional<T>(o: Obj, field: string, parse: (path: string, v: unknown) => T): T | undefined {
  return o[field] === undefined ? undefined : parse(field, o[field]);
}


export function optionalList<T>(o: Obj, path: string, field: string, each: (path: string, v: unknown) => T): T[] | undefined {
  if (o[field] === undefined) return undefined;
  return arr(`${path}.${field}`, o[field]).map((x, i) => each(`${path}.${field}[${i}]`, x));
}

/** Keeps only the fields that are present, so that the copy has no `undefined` members. */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function bounded<T>(path: string, items: T[], max: number): T[] {
  if (items.length > max) throw new Invalid(path, `holds ${items.length} entries, more than ${max}`);
  return items;
}

export function capped(path: string, v: unknown, max: number, { empty = false } = {}): string {
  const s = empty ? str(path, v) : nonEmpty(path, v);
  if (s.length > max) throw new Invalid(path, `is longer than ${max} characters`);
  return s;
}

/** A policy's (or RequestAuthn's) target: a Service or a Gateway. */
export function targetRef(path: string, v: unknown): PolicyTargetRef {
  const o = obj(path, v);
  const kind = oneOf(`${path}.kind`, o.kind, ['Service', 'Gateway'] as const);
  const group = str(`${path}.group`, o.group);
  const want = kind === 'Service' ? '' : 'gateway.networking.k8s.io';
  if (group !== want) throw new Invalid(`${path}.group`, `${show(group)} is not ${show(want)} (the group of a ${kind})`);
  return { group, kind, name: dnsSubdomain(`${path}.name`, o.name) };
}
