// Which cluster ambientctl talks to: --kubeconfig or --context if given; otherwise the
// local cluster when it is up; otherwise the usual kubeconfig (KUBECONFIG, ~/.kube/config).
// The user's own kubeconfig is never written.
import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { DEFAULT_CLUSTER, kubeconfigPath, readRecord } from '../local-cluster/state.js';

export interface ContextOptions {
  kubeconfig?: string;
  context?: string;
  cluster?: string;
}

export function loadKubeConfig(o: ContextOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  const local = kubeconfigPath(o.cluster ?? DEFAULT_CLUSTER);
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else if (!o.context && readRecord(o.cluster ?? DEFAULT_CLUSTER) && existsSync(local)) kc.loadFromFile(local);
  else kc.loadFromDefault();
  if (o.context) kc.setCurrentContext(o.context);
  return kc;
}

/** The namespace a command acts in: -n, else the context's, else "default". */
export function namespaceOf(kc: KubeConfig, explicit?: string): string {
  if (explicit) return explicit;
  const ctx = kc.getContextObject(kc.getCurrentContext());
  return ctx?.namespace ?? 'default';
}
