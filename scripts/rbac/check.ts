// The RBAC manifest checked against what the programs' code calls (kube-calls.ts), as a pure
// function: every problem is a sentence naming the role, the rule and the code. It fails on
//  - a wildcard (`*`) in a rule's apiGroups, resources, verbs or resourceNames;
//  - a rule for non-resource URLs (no program asks for one);
//  - resourceNames on a verb that names no object (create, deletecollection: kube-apiserver
//    can never match them, so the rule grants nothing);
//  - a verb on a resource that a role grants but no code of the programs bound to it uses;
//    for list and watch under resourceNames, a use is a call limited to one object by a
//    `metadata.name` field selector (the only list or watch such a rule grants);
//  - a list or watch of every object of a resource when the programs bound to the role
//    only ever list or watch one object by name: the rule must name it (resourceNames);
//  - a call in a program's code that no role bound to it grants (a list or watch of a
//    whole collection is granted by a rule without resourceNames only).
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

const NAMELESS_VERBS = new Set(['create', 'deletecollection']);
/** Verbs a rule with resourceNames grants only to a request whose field selector names one object. */
const LIST_VERBS = new Set(['list', 'watch']);
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
  /** Per program: what its rules grant on every object, and what they grant on named objects only. */
  const granted = new Map<string, { all: Set<string>; named: Set<string> }>();
  for (const c of components) {
    const mine = { all: new Set<string>(), named: new Set<string>() };
    for (const b of boundRoles(index, c.subject)) {
      (usersOf.get(b.role) ?? usersOf.set(b.role, new Set()).get(b.role)!).add(c.name);
      for (const r of b.rules) for (const v of r.verbs) for (const g of r.apiGroups) for (const res of r.resources) (r.resourceNames.length > 0 ? mine.named : mine.all).add(key(v, g, res));
    }
    granted.set(c.name, mine);
  }
  /** Per program: every call's key; the keys of its list and watch calls that select no single object, and of those that do. */
  const used = new Map(components.map((c) => [c.name, new Set(c.calls.map((k) => key(k.verb, k.group, k.resource)))]));
  const usedUnnamed = new Map(components.map((c) => [c.name, new Set(c.calls.filter((k) => LIST_VERBS.has(k.verb) && !k.byName).map((k) => key(k.verb, k.group, k.resource)))]));
  const usedNamed = new Map(components.map((c) => [c.name, new Set(c.calls.filter((k) => k.byName).map((k) => key(k.verb, k.group, k.resource)))]));

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
            else if (!LIST_VERBS.has(v)) continue;
            else if (r.resourceNames.length > 0 && !users.some((u) => usedNamed.get(u)!.has(k))) {
              problems.push(`${roleName(role)} rule ${i + 1} grants ${k} of ${r.resourceNames.join(', ')} only, but no code of ${users.join(', ')} limits its ${v} to one object (fieldSelector metadata.name=...)`);
            } else if (r.resourceNames.length === 0 && !users.some((u) => usedUnnamed.get(u)!.has(k))) {
              problems.push(`${roleName(role)} rule ${i + 1} grants ${k} of every object, while the code of ${users.join(', ')} asks for one object only (fieldSelector metadata.name=...): name it with resourceNames`);
            }
          }
        }
      }
    });
  }
  for (const c of components) {
    const seen = new Set<string>();
    const mine = granted.get(c.name)!;
    for (const call of c.calls) {
      const k = key(call.verb, call.group, call.resource);
      // A rule with resourceNames grants a list or watch only when the call names one object.
      const whole = LIST_VERBS.has(call.verb) && !call.byName;
      if (seen.has(k) || mine.all.has(k) || (!whole && mine.named.has(k))) continue;
      seen.add(k);
      problems.push(`${c.name} calls ${k} (${call.at}), which no role bound to it grants${mine.named.has(k) ? ' on every object (its rule names objects, and this call selects none by name)' : ''}`);
    }
  }
  return problems;
}
