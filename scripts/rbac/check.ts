// The RBAC manifest checked against what the programs' code calls (kube-calls.ts), as a pure
// function: every problem is a sentence naming the role, the rule and the code. It fails on
//  - a wildcard (`*`) in a rule's apiGroups, resources, verbs or resourceNames;
//  - a rule for non-resource URLs (no program asks for one);
//  - resourceNames on a verb that names no object (list, watch, create, deletecollection:
//    kube-apiserver can never match them, so the rule grants nothing);
//  - a verb on a resource that a role grants but no code of the programs bound to it uses;
//  - a call in a program's code that no role bound to it grants.
// Namespaces are not compared (a Role in ambient-system is enough for calls there); the
// end-to-end tests prove the rules suffice where they apply.
import { boundRoles, indexRbacObjects, rulesOf, type RbacSubject } from '../../local-cluster/apiserver/rbac.js';
import type { KObject } from '../../local-cluster/apiserver/kinds.js';
import type { KubeCall } from './kube-calls.js';

export interface Component {
  /** The program, as named in problems: controller, node-agent, waypoint. */
  name: string;
  /** Who it runs as (a ServiceAccount's subject). */
  subject: RbacSubject;
  calls: readonly KubeCall[];
}

const NAMELESS_VERBS = new Set(['list', 'watch', 'create', 'deletecollection']);
const key = (verb: string, group: string, resource: string) => `${verb} ${resource}${group ? `.${group}` : ''}`;
const roleName = (o: KObject) => (o.kind === 'Role' ? `Role "${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}"` : `ClusterRole "${o.metadata?.name ?? ''}"`);

export function checkRbac(objects: readonly KObject[], components: readonly Component[]): string[] {
  const problems: string[] = [];
  const roles = objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
  for (const role of roles) {
    rulesOf(role).forEach((r, i) => {
      const where = `${roleName(role)} rule ${i + 1}`;
      for (const [field, values] of [['apiGroups', r.apiGroups], ['resources', r.resources], ['verbs', r.verbs], ['resourceNames', r.resourceNames]] as const) {
        if (values.some((v) => v.includes('*'))) problems.push(`${where}: wildcard in ${field} (${values.join(', ')}): name exactly what the code uses`);
      }
      if (r.nonResourceURLs.length > 0) problems.push(`${where}: nonResourceURLs ${r.nonResourceURLs.join(', ')}: no program requests a non-resource URL`);
      const nameless = r.verbs.filter((v) => NAMELESS_VERBS.has(v));
      if (r.resourceNames.length > 0 && nameless.length > 0) problems.push(`${where}: resourceNames never match ${nameless.join(', ')} (those requests name no object)`);
    });
  }

  // Which programs each role reaches, and what each program is granted.
  const index = indexRbacObjects([...objects]);
  const usersOf = new Map<string, Set<string>>();
  const granted = new Map<string, Set<string>>();
  for (const c of components) {
    const mine = new Set<string>();
    for (const b of boundRoles(index, c.subject)) {
      (usersOf.get(b.role) ?? usersOf.set(b.role, new Set()).get(b.role)!).add(c.name);
      for (const r of b.rules) for (const v of r.verbs) for (const g of r.apiGroups) for (const res of r.resources) mine.add(key(v, g, res));
    }
    granted.set(c.name, mine);
  }
  const used = new Map(components.map((c) => [c.name, new Set(c.calls.map((k) => key(k.verb, k.group, k.resource)))]));

  for (const role of roles) {
    const users = [...(usersOf.get(roleName(role)) ?? [])];
    if (users.length === 0) {
      problems.push(`${roleName(role)} is bound to none of the programs (${components.map((c) => c.name).join(', ')})`);
      continue;
    }
    rulesOf(role).forEach((r, i) => {
      for (const v of r.verbs) {
        for (const g of r.apiGroups) {
          for (const res of r.resources) {
            const k = key(v, g, res);
            if (!users.some((u) => used.get(u)!.has(k))) problems.push(`${roleName(role)} rule ${i + 1} grants ${k}, which no code of ${users.join(', ')} uses`);
          }
        }
      }
    });
  }
  for (const c of components) {
    const seen = new Set<string>();
    for (const call of c.calls) {
      const k = key(call.verb, call.group, call.resource);
      if (seen.has(k) || granted.get(c.name)!.has(k)) continue;
      seen.add(k);
      problems.push(`${c.name} calls ${k} (${call.at}), which no role bound to it grants`);
    }
  }
  return problems;
}
