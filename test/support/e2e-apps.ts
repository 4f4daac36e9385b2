// The sample workloads the namespaced e2e files deploy, as YAML: the echo pod and the HTTP
// Service in front of it, and the two enrolled namespaces with the client pod. One
// definition, so every file runs the same sample the same way.

/** An ambient-samples/echo pod on node2 listening on 8080; `labels` is a YAML flow map's body. */
export function echoPodYaml(namespace: string, name: string, labels: string, extraEnv = ''): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}, labels: {${labels}}}
spec:
  nodeName: node2
  containers:
  - name: echo
    image: ambient-samples/echo
    ports: [{name: http, containerPort: 8080}]
    env:
    - {name: PORT, value: "8080"}
${extraEnv}`;
}

/** A Service `name` on port 80 (appProtocol http) to the pods matching `selector` on 8080. */
export function httpServiceYaml(namespace: string, name: string, selector: string): string {
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  selector: {${selector}}
  ports: [{name: http, port: 80, targetPort: 8080, appProtocol: http}]
`;
}

/**
 * The client and app namespaces, both enrolled, and the client pod (ServiceAccount
 * `client`, ambient-samples/client) on node1; `clientEnv` adds env entries to it.
 * Ends with a document separator, so the app's own documents follow.
 */
export function enrolledNamespacesWithClientYaml(clientNs: string, appNs: string, clientEnv = ''): string {
  const container = clientEnv === '' ? '  containers: [{name: client, image: ambient-samples/client}]\n' : `  containers:\n  - name: client\n    image: ambient-samples/client\n    env:\n${clientEnv}`;
  return `apiVersion: v1
kind: Namespace
metadata: {name: ${clientNs}, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${appNs}, labels: {ambient.dev/dataplane-mode: ambient}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: client, namespace: ${clientNs}}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: ${clientNs}, labels: {app: client}}
spec:
  nodeName: node1
  serviceAccountName: client
${container}---
`;
}
