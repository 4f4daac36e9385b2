// What a route needs the caller to be allowed (a SubjectAccessReview's resourceAttributes),
// declared in the route table and resolved against one request: pure.
export interface AccessRule {
  verb: 'get' | 'list' | 'create' | 'patch';
  /** API group ('' for core). */
  group: string;
  /** Lower-case plural. */
  resource: string;
  /**
   * Where the namespace comes from: a path parameter, the `namespace` query parameter
   * (absent: cluster-wide), or the controller's own namespace.
   */
  namespace: 'path' | 'query' | 'controller';
  /** The object's name is the `name` path parameter. */
  name?: boolean;
}

/** A SubjectAccessReview's resourceAttributes. */
export interface AccessAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export function accessAttributes(rule: AccessRule, params: Readonly<Record<string, string>>, query: URLSearchParams, controllerNamespace: string): AccessAttributes {
  const ns = rule.namespace === 'path' ? params['namespace'] : rule.namespace === 'query' ? query.get('namespace') || undefined : controllerNamespace;
  return {
    verb: rule.verb,
    group: rule.group,
    resource: rule.resource,
    ...(ns !== undefined ? { namespace: ns } : {}),
    ...(rule.name && params['name'] !== undefined ? { name: params['name'] } : {}),
  };
}

/** The attributes as a user reads them in a 403: `patch httproutes.gateway.networking.k8s.io "echo" in namespace "apps"`. */
export function describeAccess(a: AccessAttributes): string {
  const what = a.group ? `${a.resource}.${a.group}` : a.resource;
  const name = a.name !== undefined ? ` ${JSON.stringify(a.name)}` : '';
  const where = a.namespace !== undefined ? `in namespace ${JSON.stringify(a.namespace)}` : 'cluster-wide (all namespaces)';
  return `${a.verb} ${what}${name} ${where}`;
}
