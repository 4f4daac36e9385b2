// The JSONPath of a CRD's printer column (`.spec.action`,
// `.status.conditions[?(@.type=="Ready")].status`, `.spec.targetRefs[*].name`,
// `.spec.steps[0]`), pure: the subset of Kubernetes' jsonpath a column's path uses, without
// the braces. Parsed once, evaluated per object to the list of values found.

type Step =
  | { t: 'field'; name: string }
  | { t: 'index'; i: number }
  | { t: 'all' }
  | { t: 'filter'; path: string[]; op: '==' | '!='; value: unknown };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const FIELD = /^\.([A-Za-z0-9_-]+)/;
const QUOTED = /^\[['"]([^'"]+)['"]\]/;
const INDEX = /^\[(-?\d+)\]/;
const ALL = /^(\[\*\]|\.\*)/;
const FILTER = /^\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?\d+(?:\.\d+)?)|(true|false))\)\]/;

/** The steps of `path`, or why it is not a path this server evaluates. */
export function parseJsonPath(path: string): { steps: Step[]; error?: undefined } | { steps?: undefined; error: string } {
  let rest = path.trim();
  if (rest.startsWith('{') && rest.endsWith('}')) rest = rest.slice(1, -1);
  if (!rest.startsWith('.') && !rest.startsWith('[')) return { error: 'must be a simple json path starting with .' };
  const steps: Step[] = [];
  while (rest !== '') {
    let m: RegExpExecArray | null;
    if ((m = ALL.exec(rest))) steps.push({ t: 'all' });
    else if ((m = FIELD.exec(rest))) steps.push({ t: 'field', name: m[1]! });
    else if ((m = QUOTED.exec(rest))) steps.push({ t: 'field', name: m[1]! });
    else if ((m = INDEX.exec(rest))) steps.push({ t: 'index', i: Number(m[1]) });
    else if ((m = FILTER.exec(rest))) {
      const value = m[3] ?? m[4] ?? (m[5] !== undefined ? Number(m[5]) : m[6] === 'true');
      steps.push({ t: 'filter', path: m[1]!.slice(1).split('.'), op: m[2] as '==' | '!=', value });
    } else return { error: `unsupported json path at ${JSON.stringify(rest)}` };
    rest = rest.slice(m[0].length);
  }
  return { steps };
}

const get = (v: unknown, path: string[]): unknown => path.reduce<unknown>((cur, k) => (isObj(cur) ? cur[k] : undefined), v);

/** The values `path` finds in `obj` (none when it does not parse). */
export function evalJsonPath(obj: unknown, path: string): unknown[] {
  const parsed = parseJsonPath(path);
  if (!parsed.steps) return [];
  let cur: unknown[] = [obj];
  for (const s of parsed.steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (s.t === 'field') {
        if (isObj(v) && v[s.name] !== undefined) next.push(v[s.name]);
      } else if (s.t === 'index') {
        if (Array.isArray(v)) {
          const x = v[s.i < 0 ? v.length + s.i : s.i];
          if (x !== undefined) next.push(x);
        }
      } else if (s.t === 'all') {
        if (Array.isArray(v)) next.push(...v);
        else if (isObj(v)) next.push(...Object.values(v));
      } else if (Array.isArray(v)) {
        for (const item of v) {
          const got = get(item, s.path);
          if (got !== undefined && (got === s.value) === (s.op === '==')) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}
