// Field errors in kube-apiserver's words (k8s.io/apimachinery/pkg/util/validation/field),
// and the name formats it checks, so that a 422 reads as it would on a real cluster:
// `spec.containers[0].image: Required value`.
import { BlockList, isIPv6 } from 'node:net';
import type { StatusCause } from './api-errors.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export type NameFormat = 'dns1123-subdomain' | 'dns1123-label' | 'dns1035-label';

/** Why `name` is not of `format`, or undefined. Messages are kube-apiserver's. */
export function nameFormatError(name: string, format: NameFormat): string | undefined {
  switch (format) {
    case 'dns1123-subdomain':
      if (name.length > 253) return 'must be no more than 253 characters';
      if (!DNS1123_SUBDOMAIN.test(name)) {
        return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
      }
      return undefined;
    case 'dns1123-label':
      if (name.length > 63) return 'must be no more than 63 characters';
      if (!DNS1123_LABEL.test(name)) {
        return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
      }
      return undefined;
    case 'dns1035-label':
      if (name.length > 63) return 'must be no more than 63 characters';
      if (!DNS1035_LABEL.test(name)) {
        return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
      }
      return undefined;
  }
}

/** A named port (container port name, Service targetPort): IANA_SVC_NAME, at most 15 characters, at least one letter. */
export function portNameError(name: string): string | undefined {
  if (name.length > 15) return 'must be no more than 15 characters';
  if (!IANA_SVC_NAME.test(name)) return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
  if (name.includes('--')) return 'must not contain consecutive hyphens';
  if (!/[a-z]/.test(name)) return 'must contain at least one letter (a-z)';
  return undefined;
}

export function isIPv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return !!m && m.slice(1).every((p) => Number(p) <= 255 && String(Number(p)) === p);
}

export { isIPv6 };

// Addresses an endpoint may not have (kube-apiserver's ValidateNonSpecialIP): traffic to
// them would stay on the node that picks the endpoint, or leave no node at all. IPv4
// addresses mapped into IPv6 (::ffff:127.0.0.1) are the IPv4 address they map.
const SPECIAL: readonly { list: BlockList; why: (ip: string) => string }[] = [
  { list: blocks([['0.0.0.0', 32, 'ipv4'], ['::', 128, 'ipv6']]), why: (ip) => `may not be unspecified (${ip})` },
  { list: blocks([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]), why: () => 'may not be in the loopback range (127.0.0.0/8, ::1/128)' },
  { list: blocks([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]), why: () => 'may not be in the link-local range (169.254.0.0/16, fe80::/10)' },
  { list: blocks([['224.0.0.0', 24, 'ipv4'], ['ff02::', 16, 'ipv6']]), why: () => 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)' },
];

function blocks(ranges: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const b = new BlockList();
  for (const [net, prefix, type] of ranges) b.addSubnet(net, prefix, type);
  return b;
}

/** Why `ip` (a valid IPv4 or IPv6 address) may not be an endpoint's address, or undefined. */
export function specialIpError(ip: string): string | undefined {
  const type = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
  if (!type) return undefined;
  for (const s of SPECIAL) if (s.list.check(ip, type)) return s.why(ip);
  return undefined;
}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v));

/** Collects field errors under a path; `at` makes child paths. */
export class FieldErrors {
  readonly causes: StatusCause[] = [];

  required(field: string, detail?: string): void {
    this.causes.push({ reason: 'FieldValueRequired', message: detail ? `Required value: ${detail}` : 'Required value', field });
  }

  invalid(field: string, value: unknown, detail: string): void {
    this.causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${show(value)}: ${detail}`, field });
  }

  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.causes.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${show(value)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
      field,
    });
  }

  duplicate(field: string, value: unknown): void {
    this.causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${show(value)}`, field });
  }

  forbidden(field: string, detail: string): void {
    this.causes.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field });
  }

  /** A value of the wrong JSON type, in kube-openapi's words (CRD structural schemas). */
  typeInvalid(field: string, got: string, want: string): void {
    this.causes.push({ reason: 'FieldValueTypeInvalid', message: `Invalid value: "${got}": ${field} in body must be of type ${want}: "${got}"`, field });
  }

  tooMany(field: string, got: number, max: number): void {
    this.causes.push({ reason: 'FieldValueTooMany', message: `Too many: ${got}: must have at most ${max} items`, field });
  }

  /** A field the kind's schema does not declare (kubectl's strict field validation refuses these too). */
  unknownField(field: string): void {
    this.causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: field not declared in schema', field });
  }

  tooLong(field: string, max: number): void {
    this.causes.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${max} bytes`, field });
  }

  immutable(field: string, value: unknown): void {
    this.invalid(field, value, 'field is immutable');
  }

  /** A value that must be an object (or absent); returns it, or undefined after recording why not. */
  object(field: string, v: unknown): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.invalid(field, v, 'must be an object');
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  /** A value that must be a list (or absent). */
  list(field: string, v: unknown): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.invalid(field, v, 'must be a list');
      return [];
    }
    return v;
  }

  /** A port number 1-65535. */
  port(field: string, v: unknown): void {
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) this.invalid(field, v, 'must be between 1 and 65535, inclusive');
  }

  name(field: string, v: unknown, format: NameFormat): void {
    if (v === undefined || v === null || v === '') return this.required(field);
    if (typeof v !== 'string') return this.invalid(field, v, 'must be a string');
    const why = nameFormatError(v, format);
    if (why) this.invalid(field, v, why);
  }

  oneOf(field: string, v: unknown, supported: readonly string[]): void {
    if (v === undefined) return;
    if (typeof v !== 'string' || !supported.includes(v)) this.notSupported(field, v, supported);
  }
}
