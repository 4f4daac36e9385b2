// The local API server's limits (their defaults live with the local cluster's other
// limits in local-cluster/limits.ts, documented in docs/configuration.md) and its fixed names.

import { APISERVER_DEFAULTS } from '../limits.js';

export { APISERVER_DEFAULTS };

export type ApiServerLimits = { -readonly [K in keyof typeof APISERVER_DEFAULTS]: number };

/** The issuer and default audience of the tokens the local cluster issues (a real cluster's default). */
export const TOKEN_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Namespaces the API server makes at start-up if absent, as kube-apiserver does. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

/** Namespaces that may not be deleted (kube-apiserver's NamespaceLifecycle admission). */
export const UNDELETABLE_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public']);
