// Output for every listing: `-o table|json|yaml`. Tables are kubectl-style: upper-case
// headers, columns separated by spaces, no borders.
import Table from 'cli-table3';
import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export interface Column<T> {
  header: string;
  value: (row: T) => string;
}

const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '   ',
};

export function render<T>(rows: T[], columns: Column<T>[], format: OutputFormat, toData: (row: T) => unknown = (r) => r): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows.map(toData), null, 2)}\n`;
    case 'yaml':
      return stringify(rows.map(toData));
    case 'table': {
      const table = new Table({
        head: columns.map((c) => c.header.toUpperCase()),
        chars: BORDERLESS,
        style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
      });
      for (const row of rows) table.push(columns.map((c) => c.value(row)));
      return `${table.toString().split('\n').map((l) => l.trimEnd()).join('\n')}\n`;
    }
  }
}

/** One object, for `get KIND NAME -o json|yaml`. */
export function renderOne(obj: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(obj, null, 2)}\n` : stringify(obj);
}
