// Scheduling for the local cluster: spread pods over the ready nodes, fewest pods first
// (ties broken by name, so the choice is deterministic and testable).

export function pickNode(nodes: readonly string[], load: ReadonlyMap<string, number>): string | undefined {
  let best: string | undefined;
  for (const n of [...nodes].sort()) {
    if (best === undefined || (load.get(n) ?? 0) < (load.get(best) ?? 0)) best = n;
  }
  return best;
}

/** Pods per node, counting only pods that are not finished. */
export function nodeLoad(pods: readonly { spec?: { nodeName?: string }; status?: { phase?: string } }[]): Map<string, number> {
  const load = new Map<string, number>();
  for (const p of pods) {
    const n = p.spec?.nodeName;
    if (!n || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    load.set(n, (load.get(n) ?? 0) + 1);
  }
  return load;
}
