// The mesh CA's root and key, kept in a Kubernetes Secret so that every controller replica
// (and the next one after a restart) signs with the same root. The Secret's keys are the
// CA directory's file names (CA_FILES: ca-cert.pem, ca-key.pem, root-cert.pem,
// cert-chain.pem), base64 in `data`, Istio's `cacerts` layout.
//
// At start:
//  - a plug-in CA Secret (default ambient-system/cacerts, Istio's name, put there by the
//    operator) wins when it exists;
//  - else our own Secret (default ambient-system/ambient-ca) is loaded when it exists;
//  - else a self-signed root is created and stored; a replica that loses the race to
//    create it (409 AlreadyExists) reads the winner's and uses that.
// A Secret that exists but cannot be used is an error naming the Secret and the reason:
// the controller refuses to start rather than replace it (replacing it would silently
// orphan every certificate in the mesh).
import { CoreV1Api, type KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { ErrorCodes, MeshError } from '../core/errors.js';
import { CA_FILES, CertificateAuthority, type CaMaterial, type CaOptions } from '../core/identity/ca.js';
import { silentLogger, type Logger } from '../core/log.js';

export const DEFAULT_CA_NAMESPACE = 'ambient-system';
export const DEFAULT_CA_SECRET_NAME = 'ambient-ca';
/** Istio's name for an operator-provided (plug-in) CA. */
export const PLUGIN_CA_SECRET_NAME = 'cacerts';

export interface CaSecretOptions {
  kubeConfig: KubeConfig;
  /** Where both Secrets live; default ambient-system. */
  namespace?: string;
  /** Default ambient-ca. */
  name?: string;
  /** Default cacerts; empty string: no plug-in CA lookup. */
  pluginName?: string;
  /** Trust domain and certificate lifetimes for the CA. */
  ca?: CaOptions & { rootTtlMs?: number };
  logger?: Logger;
}

export interface LoadedCa {
  ca: CertificateAuthority;
  /** `namespace/name` of the Secret the CA came from (or was stored in). */
  secret: string;
  /** created: we made it; existing: ours from before; raced: another replica made it first; plugin: the operator's. */
  source: 'created' | 'existing' | 'raced' | 'plugin';
}

function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  for (const v of [e?.code, e?.statusCode, e?.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

/** The API server's own words (a Status message) rather than the client library's dump of the response. */
function reasonOf(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  if (typeof body === 'string') {
    try {
      const m = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof m === 'string' && m) return `${m} (HTTP ${statusOf(err) ?? '?'})`;
    } catch {
      // not a Status
    }
  }
  return (err as Error)?.message ?? String(err);
}

async function readSecret(api: CoreV1Api, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await api.readNamespacedSecret({ namespace, name });
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `could not read CA Secret ${namespace}/${name}: ${reasonOf(err)}`, { cause: err });
  }
}

/** The CA in a Secret's data; throws AMB_CA_LOAD_FAILED / AMB_CA_INVALID naming the Secret and the reason. */
export function caFromSecret(secret: V1Secret, opts: CaOptions = {}): CertificateAuthority {
  const ref = `${secret.metadata?.namespace ?? '?'}/${secret.metadata?.name ?? '?'}`;
  const data = secret.data ?? {};
  const read = (file: string, required: boolean): string | undefined => {
    const b64 = data[file];
    if (b64 === undefined || b64 === '') {
      if (required) throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `CA Secret ${ref} is unusable: it has no key ${file} (expected ${Object.values(CA_FILES).join(', ')}); refusing to start rather than replacing it`);
      return undefined;
    }
    return Buffer.from(b64, 'base64').toString('utf8');
  };
  const material: CaMaterial = { caCert: read(CA_FILES.caCert, true)!, caKey: read(CA_FILES.caKey, true)!, rootCert: read(CA_FILES.rootCert, true)! };
  const chain = read(CA_FILES.certChain, false);
  if (chain) material.certChain = chain;
  try {
    return CertificateAuthority.fromMaterial(material, opts);
  } catch (err) {
    throw new MeshError(ErrorCodes.CA_INVALID, `CA Secret ${ref} is unusable: ${(err as Error).message}; refusing to start rather than replacing it (fix the Secret, or delete it to have a new root created)`, { cause: err });
  }
}

/** A Secret holding `ca`'s material. */
export function secretForCa(ca: CertificateAuthority, namespace: string, name: string): V1Secret {
  const m = ca.material();
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { namespace, name, labels: { 'app.kubernetes.io/part-of': 'ambient', 'app.kubernetes.io/component': 'ca' } },
    data: {
      [CA_FILES.caCert]: b64(m.caCert),
      [CA_FILES.caKey]: b64(m.caKey),
      [CA_FILES.rootCert]: b64(m.rootCert),
      [CA_FILES.certChain]: b64(m.certChain),
    },
  };
}

/** Loads the plug-in CA, or our own, or creates and stores a new self-signed one. */
export async function loadOrCreateCa(opts: CaSecretOptions): Promise<LoadedCa> {
  const log = opts.logger ?? silentLogger;
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const namespace = opts.namespace ?? DEFAULT_CA_NAMESPACE;
  const name = opts.name ?? DEFAULT_CA_SECRET_NAME;
  const pluginName = opts.pluginName ?? PLUGIN_CA_SECRET_NAME;
  const caOpts = opts.ca ?? {};

  if (pluginName) {
    const plugin = await readSecret(api, namespace, pluginName);
    if (plugin) {
      const ca = caFromSecret(plugin, caOpts);
      log.info({ secret: `${namespace}/${pluginName}`, roots: ca.trustBundle.fingerprints() }, 'controller: using the plug-in CA');
      return { ca, secret: `${namespace}/${pluginName}`, source: 'plugin' };
    }
  }
  const ref = `${namespace}/${name}`;
  const existing = await readSecret(api, namespace, name);
  if (existing) {
    const ca = caFromSecret(existing, caOpts);
    log.info({ secret: ref, roots: ca.trustBundle.fingerprints() }, 'controller: loaded the CA');
    return { ca, secret: ref, source: 'existing' };
  }
  const ca = await CertificateAuthority.createSelfSigned(caOpts);
  try {
    await api.createNamespacedSecret({ namespace, body: secretForCa(ca, namespace, name) });
  } catch (err) {
    if (statusOf(err) !== 409) throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `could not create CA Secret ${ref}: ${reasonOf(err)}`, { cause: err });
    // Another replica created it between our read and our create: use theirs.
    const theirs = await readSecret(api, namespace, name);
    if (!theirs) throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `CA Secret ${ref} already existed when creating it, then was gone when reading it`);
    const winner = caFromSecret(theirs, caOpts);
    log.info({ secret: ref, roots: winner.trustBundle.fingerprints() }, 'controller: another replica created the CA first; using it');
    return { ca: winner, secret: ref, source: 'raced' };
  }
  log.info({ secret: ref, roots: ca.trustBundle.fingerprints() }, 'controller: created a self-signed CA');
  return { ca, secret: ref, source: 'created' };
}

/** The ConfigMap with the mesh's roots that node agents and waypoints trust the controller by (Istio: istio-ca-root-cert). */
export const ROOT_CONFIGMAP_NAME = 'ambient-ca-root';
export const ROOT_CONFIGMAP_KEY = 'root-cert.pem';

/**
 * Publishes the CA's roots (public, no key) in ConfigMap `ambient-ca-root` of the
 * controller's namespace, created or replaced, so that an agent can verify the
 * controller before it holds any certificate of its own.
 */
export async function publishRoots(kubeConfig: KubeConfig, namespace: string, rootsPem: string): Promise<void> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const body: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace, name: ROOT_CONFIGMAP_NAME, labels: { 'app.kubernetes.io/part-of': 'ambient', 'app.kubernetes.io/component': 'ca' } },
    data: { [ROOT_CONFIGMAP_KEY]: rootsPem },
  };
  try {
    const cur = await api.readNamespacedConfigMap({ namespace, name: ROOT_CONFIGMAP_NAME });
    if (cur.data?.[ROOT_CONFIGMAP_KEY] === rootsPem) return;
    await api.replaceNamespacedConfigMap({ namespace, name: ROOT_CONFIGMAP_NAME, body: { ...body, metadata: { ...body.metadata, resourceVersion: cur.metadata?.resourceVersion } } });
  } catch (err) {
    if (statusOf(err) !== 404) throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `could not publish the roots in ConfigMap ${namespace}/${ROOT_CONFIGMAP_NAME}: ${reasonOf(err)}`, { cause: err });
    try {
      await api.createNamespacedConfigMap({ namespace, body });
    } catch (err2) {
      // 409: another replica published it first, with the same roots (they share the CA Secret).
      if (statusOf(err2) !== 409) throw new MeshError(ErrorCodes.CA_LOAD_FAILED, `could not create ConfigMap ${namespace}/${ROOT_CONFIGMAP_NAME}: ${reasonOf(err2)}`, { cause: err2 });
    }
  }
}
