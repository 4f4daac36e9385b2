// The node-agent manifest (manifests/node-agent.yaml) as a benchmark deploys it: with the
// data-path workers set (AMBIENT_WORKERS) and NODE_OPTIONS replaced ("" removes it), so
// that settings are compared without editing the manifest.
export function agentManifest(text: string, o: { nodeOptions?: string | undefined; workers?: number | undefined }): string {
  if (o.workers !== undefined) {
    const w = /^( *)- name: AMBIENT_WORKERS\n *value: .*\n/m;
    if (!w.test(text)) throw new Error('manifests/node-agent.yaml has no AMBIENT_WORKERS entry to set');
    text = text.replace(w, (_m, indent: string) => `${indent}- name: AMBIENT_WORKERS\n${indent}  value: "${o.workers}"\n`);
  }
  if (o.nodeOptions === undefined) return text;
  const re = /^( *)- name: NODE_OPTIONS\n *value: .*\n/m;
  if (!re.test(text)) throw new Error('manifests/node-agent.yaml has no NODE_OPTIONS entry to replace');
  const nodeOptions = o.nodeOptions;
  return text.replace(re, (_m, indent: string) => (nodeOptions === '' ? '' : `${indent}- name: NODE_OPTIONS\n${indent}  value: ${JSON.stringify(nodeOptions)}\n`));
}
