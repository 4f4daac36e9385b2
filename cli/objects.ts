// `ambientctl apply -f`, `get`, `delete -f`, `label`: objects on the local cluster or a
// real one, through discovery and plain REST calls (core/kube/rest.ts), so what the
// server refuses is shown as its `Status` (cli/errors.ts). apply/delete -f object by
// object: cli/manifests.ts reads, cli/object-writes.ts writes and reports.
import { Command, Option } from 'commander';
import { PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { discover, resolveResource, type ApiResource } from '../core/kube/discovery.js';
import { collectionPath } from '../core/kube/informer.js';
import { kubeRequest } from '../core/kube/rest.js';
import { loadKubeConfig, namespaceOf, type ContextOptions } from './context.js';
import { OUTPUT_FORMATS, render, renderOne, type Column, type OutputFormat } from './output.js';
import { CliError, serverStatusOf } from './errors.js';
import { collectPaths, readManifests, type Obj } from './manifests.js';
import { applyManifests, deleteManifests, resultName } from './object-writes.js';

function age(ts: unknown): string {
  if (!ts) return '';
  const s = Math.max(0, Math.floor((Date.now() - new Date(ts as string).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** kubectl-like columns for the kinds users look at most; NAME and AGE for the rest. */
function columnsFor(kind: string, allNamespaces: boolean): Column<Obj>[] {
  const st = (o: Obj) => (o.status ?? {}) as Record<string, any>;
  const sp = (o: Obj) => (o.spec ?? {}) as Record<string, any>;
  const cols: Column<Obj>[] = [];
  if (allNamespaces) cols.push({ header: 'namespace', value: (o) => o.metadata?.namespace ?? '' });
  cols.push({ header: 'name', value: (o) => o.metadata?.name ?? '' });
  switch (kind) {
    case 'Pod':
      cols.push(
        { header: 'ready', value: (o) => { const cs = (st(o).containerStatuses ?? []) as any[]; return `${cs.filter((c) => c.ready).length}/${(sp(o).containers ?? []).length}`; } },
        { header: 'status', value: (o) => st(o).reason ?? (st(o).containerStatuses ?? []).map((c: any) => c.state?.waiting?.reason).find(Boolean) ?? st(o).phase ?? '' },
        { header: 'restarts', value: (o) => String((st(o).containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0)) },
        { header: 'ip', value: (o) => st(o).podIP ?? '' },
        { header: 'node', value: (o) => sp(o).nodeName ?? '' },
      );
      break;
    case 'Service':
      cols.push(
        { header: 'type', value: (o) => sp(o).type ?? 'ClusterIP' },
        { header: 'cluster-ip', value: (o) => sp(o).clusterIP ?? '' },
        { header: 'ports', value: (o) => (sp(o).ports ?? []).map((p: any) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') },
      );
      break;
    case 'Deployment':
      cols.push(
        { header: 'ready', value: (o) => `${st(o).readyReplicas ?? 0}/${sp(o).replicas ?? 1}` },
        { header: 'up-to-date', value: (o) => String(st(o).updatedReplicas ?? 0) },
      );
      break;
    case 'Namespace':
      cols.push({ header: 'status', value: (o) => st(o).phase ?? 'Active' });
      break;
    case 'Node':
      cols.push(
        { header: 'status', value: (o) => ((st(o).conditions ?? []).find((c: any) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady') },
        { header: 'internal-ip', value: (o) => (st(o).addresses ?? []).find((a: any) => a.type === 'InternalIP')?.address ?? '' },
        { header: 'pod-cidr', value: (o) => sp(o).podCIDR ?? '' },
      );
      break;
  }
  cols.push({ header: 'age', value: (o) => age(o.metadata?.creationTimestamp) });
  return cols;
}

interface GlobalOpts extends ContextOptions {
  namespace?: string;
}

function globals(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

async function resourceFor(kc: KubeConfig, o: Obj | string): Promise<ApiResource> {
  const resources = await discover(kc);
  const r = typeof o === 'string' ? resolveResource(resources, o) : resources.find((x) => x.apiVersion === o.apiVersion && x.kind === o.kind);
  if (!r) throw new CliError(`the server does not serve ${typeof o === 'string' ? `resource type "${o}"` : `${o.kind} in ${o.apiVersion}`}`);
  return r;
}

export function objectCommands(program: Command): void {
  program
    .command('apply')
    .description('create or update the objects in files, directories or stdin (-); every valid object is applied, each failure reported')
    .requiredOption('-f, --filename <path>', 'file, directory or - for stdin; repeat (-f a.yaml -f b.yaml) or separate with commas', collectPaths)
    .option('-R, --recursive', 'read directories given with -f recursively')
    .action(async (o: { filename: string[]; recursive?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const manifests = await readManifests(o.filename, !!o.recursive);
      const kc = loadKubeConfig(g);
      const resources = await discover(kc);
      const results = await applyManifests(kc, resources, manifests, g.namespace, namespaceOf(kc, g.namespace));
      if (results.failed > 0) process.exitCode = 1;
    });

  program
    .command('get')
    .description('list objects of a kind, or show one')
    .argument('<kind>', 'resource type: pods, po, svc, deploy, httproutes, ...')
    .argument('[name]', 'one object')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('-l, --selector <selector>', 'label selector')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS as string[]).default('table'))
    .action(async (kind: string, name: string | undefined, o: { allNamespaces?: boolean; selector?: string; output: OutputFormat }, cmd: Command) => {
      const g = globals(cmd);
      const kc = loadKubeConfig(g);
      const r = await resourceFor(kc, kind);
      const ns = r.namespaced && !o.allNamespaces ? namespaceOf(kc, g.namespace) : undefined;
      const base = collectionPath(r, ns);
      let rows: Obj[];
      if (name) rows = [await kubeRequest<Obj>(kc, 'GET', `${base}/${encodeURIComponent(name)}`)];
      else {
        const q = o.selector ? `?labelSelector=${encodeURIComponent(o.selector)}` : '';
        rows = (await kubeRequest<{ items: Obj[] }>(kc, 'GET', `${base}${q}`)).items ?? [];
      }
      for (const row of rows) {
        row.apiVersion ??= r.apiVersion;
        row.kind ??= r.kind;
      }
      if (o.output === 'table' && rows.length === 0) {
        process.stderr.write(ns ? `No resources found in ${ns} namespace.\n` : 'No resources found\n');
        return;
      }
      if (name && o.output !== 'table') process.stdout.write(renderOne(rows[0], o.output));
      else process.stdout.write(render(rows, columnsFor(r.kind, !!o.allNamespaces && r.namespaced), o.output));
    });

  program
    .command('delete')
    .description('delete the objects in files or directories, or one object by kind and name')
    .argument('[kind]', 'resource type')
    .argument('[name]', 'object name')
    .option('-f, --filename <path>', 'file, directory or - for stdin; repeat (-f a.yaml -f b.yaml) or separate with commas', collectPaths)
    .option('-R, --recursive', 'read directories given with -f recursively')
    .option('--ignore-not-found', 'no error when an object does not exist')
    .action(async (kind: string | undefined, name: string | undefined, o: { filename?: string[]; recursive?: boolean; ignoreNotFound?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      if (o.filename && (kind || name)) throw new CliError('delete takes -f FILE, or KIND and NAME, not both');
      if (!o.filename && !(kind && name)) throw new CliError('delete needs -f FILE, or KIND and NAME');
      const manifests = o.filename ? await readManifests(o.filename, !!o.recursive) : undefined;
      const kc = loadKubeConfig(g);
      const resources = await discover(kc);
      if (!manifests) {
        const r = resolveResource(resources, kind!);
        if (!r) throw new CliError(`the server does not serve resource type "${kind}"`);
        const path = `${collectionPath(r, r.namespaced ? namespaceOf(kc, g.namespace) : undefined)}/${encodeURIComponent(name!)}`;
        try {
          await kubeRequest(kc, 'DELETE', path);
        } catch (err) {
          if (o.ignoreNotFound && serverStatusOf(err)?.code === 404) return;
          throw err;
        }
        process.stdout.write(`${resultName({ resource: r, name: name! })} deleted\n`);
        return;
      }
      const results = await deleteManifests(kc, resources, manifests, g.namespace, namespaceOf(kc, g.namespace), !!o.ignoreNotFound);
      if (results.failed > 0) process.exitCode = 1;
    });

  program
    .command('label')
    .description('add, change (key=value) or remove (key-) labels on an object')
    .argument('<kind>', 'resource type')
    .argument('<name>', 'object name')
    .argument('<labels...>', 'key=value to set, key- to remove')
    .option('--overwrite', 'allow changing an existing label value')
    .action(async (kind: string, name: string, labels: string[], o: { overwrite?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const kc = loadKubeConfig(g);
      const r = await resourceFor(kc, kind);
      const path = `${collectionPath(r, r.namespaced ? namespaceOf(kc, g.namespace) : undefined)}/${encodeURIComponent(name)}`;
      const current = await kubeRequest<Obj>(kc, 'GET', path);
      const patch: Record<string, string | null> = {};
      for (const l of labels) {
        const m = /^([A-Za-z0-9./_-]+)(?:=(.*)|(-))$/.exec(l);
        if (!m) throw new CliError(`bad label ${JSON.stringify(l)}: use key=value or key-`);
        const [, key, value, remove] = m;
        if (remove) patch[key!] = null;
        else {
          const had = current.metadata?.labels?.[key!];
          if (had !== undefined && had !== value && !o.overwrite) {
            throw new CliError(`${r.singular}/${name} already has a value (${had}) for label ${key}; use --overwrite`);
          }
          patch[key!] = value!;
        }
      }
      await kubeRequest(kc, 'PATCH', path, { metadata: { labels: patch } }, PatchStrategy.MergePatch);
      process.stdout.write(`${r.singular}/${name} labeled\n`);
    });
}
