// Reading objects for `apply -f` and `delete -f`: several paths (files, directories of
// *.yaml/*.yml/*.json, or "-" for stdin), every document on its own. A document that does
// not parse, or is not an object with apiVersion and kind, is reported with its file and
// position and the others are still read, as kubectl does; a path that does not exist stops
// the command before anything is sent.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { CliError } from './errors.js';

export type Obj = KubernetesObject & { spec?: Record<string, unknown>; status?: Record<string, unknown> };

/** Where one object came from: the file as the user named it and its document (1-based). */
export interface Origin {
  file: string;
  document: number;
  /** Position in a `kind: *List` document (1-based). */
  item?: number;
}

export interface Manifest {
  obj: Obj;
  origin: Origin;
}

/** A document that could not be read; the message names the file and the document. */
export interface ManifestProblem {
  origin: Origin;
  message: string;
}

/** What the paths hold, in file and document order: objects, and documents that could not be read. */
export type Entry = Manifest | ManifestProblem;

export const isProblem = (e: Entry): e is ManifestProblem => 'message' in e;

/** `"b.yaml" (document 2)` or `"b.yaml" (document 2, item 1)`: where an error happened. */
export function describeOrigin(o: Origin): string {
  return `${JSON.stringify(o.file)} (document ${o.document}${o.item === undefined ? '' : `, item ${o.item}`})`;
}

/** Accepts "-f a.yaml -f b.yaml" and, as kubectl does, "-f a.yaml,b.yaml" (commander option parser). */
export function collectPaths(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').filter((p) => p !== '')];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The objects of one file's text: pure, for unit tests and for every path kind. */
export function parseManifests(text: string, file: string): Entry[] {
  const out: Entry[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    const document = i + 1;
    if (doc.errors.length) {
      const first = doc.errors[0]!.message.split('\n')[0]!.replace(/:$/, '');
      out.push({ origin: { file, document }, message: `error parsing ${describeOrigin({ file, document })}: ${first}` });
      continue;
    }
    const v = doc.toJS() as unknown;
    if (v === null || v === undefined) continue; // an empty document (a trailing ---, comments only)
    const check = (o: unknown, origin: Origin): void => {
      const missing = !isObject(o) ? ['apiVersion', 'kind'] : (['apiVersion', 'kind'] as const).filter((k) => typeof o[k] !== 'string' || o[k] === '');
      if (missing.length) out.push({ origin, message: `error validating ${describeOrigin(origin)}: ${missing.join(' and ')} not set` });
      else out.push({ obj: o as Obj, origin });
    };
    if (isObject(v) && typeof v['kind'] === 'string' && v['kind'].endsWith('List') && Array.isArray(v['items'])) {
      v['items'].forEach((item, j) => check(item, { file, document, item: j + 1 }));
    } else check(v, { file, document });
  }
  return out;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/;

/** A directory's manifest files in name order; with `recursive`, its subdirectories' too, in place. */
async function directoryFiles(dir: string, recursive: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) out.push(...(await directoryFiles(p, true)));
    } else if (MANIFEST_FILE.test(entry.name)) out.push(p);
  }
  return out;
}

/**
 * The files behind the paths, in order: a directory gives its *.yaml, *.yml and *.json
 * files sorted by name (and, with `recursive` as kubectl's -R, those of its subdirectories).
 */
export async function expandPaths(paths: readonly string[], recursive = false): Promise<string[]> {
  if (paths.length === 0) throw new CliError('must specify -f FILENAME (a file, a directory or - for stdin)');
  if (paths.filter((p) => p === '-').length > 1) throw new CliError('stdin (-) can be read only once');
  const files: string[] = [];
  for (const path of paths) {
    if (path === '-') {
      files.push(path);
      continue;
    }
    const st = await stat(path).catch(() => undefined);
    if (!st) throw new CliError(`the path ${JSON.stringify(path)} does not exist`);
    if (st.isDirectory()) files.push(...(await directoryFiles(path, recursive)));
    else files.push(path);
  }
  return files;
}

/** Every object of every path; unreadable documents are problems, not failures of the rest. */
export async function readManifests(paths: readonly string[], recursive = false): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const file of await expandPaths(paths, recursive)) {
    let text: string;
    try {
      text = await readFile(file === '-' ? '/dev/stdin' : file, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read ${JSON.stringify(file)}: ${(err as Error).message}`);
    }
    out.push(...parseManifests(text, file === '-' ? 'STDIN' : file));
  }
  return out;
}
