// Reads Prometheus' text exposition format (version 0.0.4, what prom-client writes and
// every mesh component serves on /metrics) into samples. Pure. Used where the mesh reads
// its own metrics back: the rollout driver judging a canary from the waypoints' request
// metrics. Comments, HELP and TYPE lines are skipped; timestamps are ignored; a line
// that does not parse is skipped (and counted), never thrown on: one odd line must not
// hide every other sample.
// Format: https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedMetrics {
  samples: Sample[];
  /** Lines that were neither blank, a comment, nor a sample. */
  malformed: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Parses `{a="x",b="y\"z"}` starting at `i` (at the `{`); the labels and the index after `}`. */
function parseLabels(line: string, i: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  i++; // '{'
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const m = LABEL_NAME.exec(line.slice(i));
    if (!m) return undefined;
    const key = m[0];
    i += key.length;
    if (line[i] !== '=' || line[i + 1] !== '"') return undefined;
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        value += n === 'n' ? '\n' : n === '"' ? '"' : n === '\\' ? '\\' : `\\${n ?? ''}`;
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    labels[key] = value;
    i++; // closing quote
  }
}

function parseValue(text: string): number | undefined {
  const t = text.trim().split(/\s+/)[0] ?? '';
  if (t === '+Inf') return Infinity;
  if (t === '-Inf') return -Infinity;
  if (t === 'NaN') return NaN;
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isNaN(v) ? undefined : v;
}

export function parsePrometheusText(text: string): ParsedMetrics {
  const samples: Sample[] = [];
  let malformed = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = NAME.exec(line);
    if (!m) {
      malformed++;
      continue;
    }
    let labels: Record<string, string> = {};
    let rest = m[0].length;
    if (line[rest] === '{') {
      const parsed = parseLabels(line, rest);
      if (!parsed) {
        malformed++;
        continue;
      }
      labels = parsed.labels;
      rest = parsed.end;
    }
    const value = parseValue(line.slice(rest));
    if (value === undefined) {
      malformed++;
      continue;
    }
    samples.push({ name: m[0], labels, value });
  }
  return { samples, malformed };
}
