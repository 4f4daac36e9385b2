// Field errors in kube-apiserver's words (k8s.io/apimachinery/pkg/util/validation/field),
// and the name formats it checks, so that a 422 reads as it would on a real cluster:
// `spec.containers[0].image: Required value`.
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
