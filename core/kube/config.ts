// A KubeConfig for an API server known by URL (the local cluster's, on loopback or on the
// cluster network), with a bearer token where the listener asks for one.
import { KubeConfig } from '@kubernetes/client-node';

export function kubeConfigForServer(server: string, token?: string, caFile?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // client-node refuses plain http unless TLS verification is off (there is no TLS to verify).
    clusters: [{ name: 'local', server, skipTLSVerify: server.startsWith('http:'), ...(caFile ? { caFile } : {}) }],
    users: [{ name: 'local', ...(token ? { token } : {}) }],
    contexts: [{ name: 'local', cluster: 'local', user: 'local' }],
    currentContext: 'local',
  });
  return kc;
}
