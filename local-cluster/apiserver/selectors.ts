// Label and field selectors: parsing and matching, pure. The grammar is Kubernetes'
// (k8s.io/apimachinery/pkg/labels and pkg/fields):
//   labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`,
//           comma-separated, all must hold;
//   fields: `f=v`, `f==v`, `f!=v`, comma-separated, with `\,` `\=` `\\` escapes in values.

export type LabelOperator = 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOperator;
  values: string[];
}

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

const NAME_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN_RE.test(prefix))) {
    return 'prefix part must be a lowercase RFC 1123 subdomain';
  }
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME_RE.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (value !== '' && !NAME_RE.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

type Token = { t: 'id'; v: string } | { t: 'op'; v: string };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c === '!' && s[i + 1] === '=') {
      out.push({ t: 'op', v: '!=' });
      i += 2;
    } else if (c === '=' && s[i + 1] === '=') {
      out.push({ t: 'op', v: '==' });
      i += 2;
    } else if ('!=(),<>'.includes(c)) {
      out.push({ t: 'op', v: c });
      i++;
    } else {
      let j = i;
      while (j < s.length && !' \t!=(),<>'.includes(s[j]!)) j++;
      out.push({ t: 'id', v: s.slice(i, j) });
      i = j;
    }
  }
  return out;
}

/** Parses a label selector; an empty string selects everything. Throws SelectorError. */
export function parseLabelSelector(selector: string): LabelRequirement[] {
  const toks = tokenize(selector);
  const reqs: LabelRequirement[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new SelectorError(`unable to parse requirement: ${why} in label selector "${selector}"`);
  };
  const id = (what: string): string => {
    const tok = toks[i];
    if (!tok || tok.t !== 'id') return fail(`expected ${what}`);
    i++;
    return tok.v;
  };
  const key = (): string => {
    const k = id('a label key');
    const err = labelKeyError(k);
    if (err) fail(`invalid label key "${k}": ${err}`);
    return k;
  };
  const value = (v: string): string => {
    const err = labelValueError(v);
    if (err) fail(`invalid label value "${v}": ${err}`);
    return v;
  };
  while (i < toks.length) {
    const tok = toks[i]!;
    if (tok.t === 'op' && tok.v === '!') {
      i++;
      reqs.push({ key: key(), op: '!', values: [] });
    } else {
      const k = key();
      const op = toks[i];
      if (!op || (op.t === 'op' && op.v === ',')) {
        reqs.push({ key: k, op: 'exists', values: [] });
      } else if (op.t === 'op' && (op.v === '=' || op.v === '==' || op.v === '!=')) {
        i++;
        // `a=` selects an empty value.
        const next = toks[i];
        const v = next && next.t === 'id' ? (i++, next.v) : '';
        reqs.push({ key: k, op: op.v === '!=' ? 'notin' : 'in', values: [value(v)] });
      } else if (op.t === 'op' && (op.v === '<' || op.v === '>')) {
        i++;
        const v = id('an integer');
        if (!/^-?\d+$/.test(v)) fail(`"${v}" is not an integer`);
        reqs.push({ key: k, op: op.v === '>' ? 'gt' : 'lt', values: [v] });
      } else if (op.t === 'id' && (op.v === 'in' || op.v === 'notin')) {
        i++;
        const open = toks[i];
        if (!open || open.t !== 'op' || open.v !== '(') fail(`expected '(' after ${op.v}`);
        i++;
        const values: string[] = [];
        for (;;) {
          const t = toks[i];
          if (!t) fail("expected ')'");
          if (t!.t === 'op' && t!.v === ')') {
            i++;
            break;
          }
          if (t!.t === 'op' && t!.v === ',') {
            i++;
            continue;
          }
          values.push(value(id('a value')));
        }
        if (values.length === 0) fail(`for '${op.v}' operator, values set can't be empty`);
        reqs.push({ key: k, op: op.v, values });
      } else {
        fail(`unexpected "${op.v}" after "${k}"`);
      }
    }
    const sep = toks[i];
    if (sep) {
      if (sep.t !== 'op' || sep.v !== ',') fail(`expected ',' but found "${sep.v}"`);
      i++;
      if (i === toks.length) fail('trailing comma');
    }
  }
  return reqs;
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? l[r.key]! : undefined;
    switch (r.op) {
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'gt':
      case 'lt': {
        if (!has || !/^-?\d+$/.test(v!)) return false;
        const n = Number(v);
        const bound = Number(r.values[0]);
        return r.op === 'gt' ? n > bound : n < bound;
      }
    }
  });
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** Splits on unescaped `sep`, keeping escapes for the next stage. */
function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescapeFieldValue(v: string, selector: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\') {
      const n = v[i + 1];
      if (n !== '\\' && n !== ',' && n !== '=') throw new SelectorError(`invalid field selector "${selector}": invalid escape sequence`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw new SelectorError(`invalid field selector "${selector}": unescaped '${c}' in value`);
    } else {
      out += c;
    }
  }
  return out;
}

/** One term of a field selector, with its text as written (kube-apiserver orders terms by it). */
export interface FieldTerm extends FieldRequirement {
  term: string;
}

/**
 * Parses a field selector's terms without judging their field names (what authorization
 * reads: fieldSelectorName in request-attributes.ts). Throws SelectorError.
 */
export function parseFieldTerms(selector: string): FieldTerm[] {
  if (selector.trim() === '') return [];
  return splitUnescaped(selector, ',').map((term) => {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/s.exec(term.trim());
    if (!m) throw new SelectorError(`invalid field selector "${selector}": "${term}" is not of the form field=value or field!=value`);
    return { field: m[1]!.trim(), op: m[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(m[3]!, selector), term };
  });
}

/**
 * Parses a field selector. `allowed` is the list of field names this kind supports; any
 * other name is refused as kube-apiserver does ("field label not supported").
 */
export function parseFieldSelector(selector: string, allowed: readonly string[]): FieldRequirement[] {
  return parseFieldTerms(selector).map(({ field, op, value }) => {
    if (!allowed.includes(field)) throw new SelectorError(`field label not supported: ${field}`);
    return { field, op, value };
  });
}

export function matchesFields(reqs: readonly FieldRequirement[], fields: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const v = fields[r.field] ?? '';
    return r.op === '=' ? v === r.value : v !== r.value;
  });
}

/** Label selector of a Deployment or Service-style `{matchLabels, matchExpressions}` object. */
export function requirementsFromLabelSelector(sel: {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}): LabelRequirement[] {
  const reqs: LabelRequirement[] = Object.entries(sel.matchLabels ?? {}).map(([key, v]) => ({ key, op: 'in', values: [v] }));
  for (const e of sel.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' } as const)[e.operator as 'In'];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return reqs;
}

/** The string form of a label selector (what autoscaling/v1 Scale reports in status.selector). */
export function formatLabelSelector(reqs: readonly LabelRequirement[]): string {
  return reqs
    .map((r) => {
      switch (r.op) {
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
      }
    })
    .join(',');
}
