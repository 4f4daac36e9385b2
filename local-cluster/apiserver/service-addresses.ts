// A Service's cluster IP and node ports, given the other Services (pure). On update an
// empty clusterIP keeps the old one, as kube-apiserver does since 1.20, and ports keep
// their node ports.
import type { StatusCause } from './api-errors.js';
import { allocateClusterIP, allocateNodePort } from './defaults.js';
import { isIPv4 } from './field-errors.js';
import type { KObject } from './kinds.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export function assignServiceAddresses(svc: KObject, others: readonly KObject[], old?: KObject): { object: KObject; causes: StatusCause[] } {
  const out = structuredClone(svc) as Any;
  const spec = (out.spec ??= {});
  const oldSpec = (old?.['spec'] ?? {}) as Any;
  const causes: StatusCause[] = [];
  if (spec.type === 'ExternalName') return { object: out, causes };

  const usedIPs = new Set<string>();
  const usedPorts = new Set<number>();
  for (const o of others) {
    const s = (o['spec'] ?? {}) as Any;
    for (const ip of [s.clusterIP, ...(s.clusterIPs ?? [])]) if (typeof ip === 'string' && isIPv4(ip)) usedIPs.add(ip);
    for (const p of s.ports ?? []) if (Number.isInteger(p?.nodePort)) usedPorts.add(p.nodePort);
  }

  if (!spec.clusterIP && oldSpec.clusterIP) spec.clusterIP = oldSpec.clusterIP;
  if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
  } else if (!spec.clusterIP || (isIPv4(spec.clusterIP) && spec.clusterIP !== oldSpec.clusterIP)) {
    const r = allocateClusterIP(usedIPs, spec.clusterIP || undefined);
    if (r.ok) {
      spec.clusterIP = r.value;
      spec.clusterIPs = [r.value];
    } else {
      causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: ${JSON.stringify([spec.clusterIP])}: failed to allocate IP ${spec.clusterIP}: ${r.reason}` });
    }
  } else if (isIPv4(spec.clusterIP)) {
    spec.clusterIPs = [spec.clusterIP];
  }

  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    const oldPorts = (oldSpec.ports ?? []) as Any[];
    (spec.ports ?? []).forEach((p: Any, i: number) => {
      if (typeof p !== 'object' || p === null) return;
      const prev = oldPorts.find((o) => o?.port === p.port && (o?.protocol ?? 'TCP') === (p.protocol ?? 'TCP'))?.nodePort;
      const want = p.nodePort || prev;
      const r = allocateNodePort(usedPorts, want || undefined);
      if (r.ok) {
        p.nodePort = r.value;
        usedPorts.add(r.value);
      } else {
        causes.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${want}: ${r.reason}` });
      }
    });
  }
  return { object: out, causes };
}
