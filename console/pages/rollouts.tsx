// A service's rollouts: phase, progress through the steps, gates, and pause/resume/abort.
import { useState } from 'preact/hooks';
import type { Rollout } from '../api-types.js';
import { api } from '../api.js';
import { Empty, ErrorBanner } from '../components.js';

function gateText(g: NonNullable<NonNullable<Rollout['status']>['failedGate']>): string {
  const f = (v: number) => (g.gate === 'minSuccessRate' ? `${(v * 100).toFixed(2)}%` : `${Math.round(v)}`);
  return `${g.gate}: measured ${f(g.measured)}, bound ${f(g.threshold)}`;
}

export function Rollouts({ rollouts, onChanged }: { rollouts: Rollout[]; onChanged: () => void }) {
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  if (rollouts.length === 0) return <Empty>No rollout for this service.</Empty>;
  const act = async (r: Rollout, action: 'pause' | 'resume' | 'abort') => {
    setBusy(true);
    setError(undefined);
    try {
      await api.rolloutAction(r.metadata.namespace, r.metadata.name, action);
      onChanged();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <ErrorBanner error={error} />
      {rollouts.map((r) => {
        const steps = r.spec.steps ?? [];
        const st = r.status ?? {};
        const gates = r.spec.gates ?? {};
        return (
          <article class="rollout" key={r.metadata.name}>
            <h3>
              Rollout {r.metadata.namespace}/{r.metadata.name}: {st.phase ?? 'Pending'}
              {r.spec.paused ? ' (paused)' : ''}
            </h3>
            <p>
              {r.spec.stable} → {r.spec.canary}, canary weight {st.canaryWeight ?? 0}%, step{' '}
              {st.step !== undefined ? `${st.step + 1} of ${steps.length}` : '-'}
            </p>
            <ol class="steps" aria-label="Steps">
              {steps.map((s, i) => (
                <li key={i} class={st.step !== undefined && i < st.step ? 'done' : i === st.step ? 'current' : ''}>
                  {s}%
                </li>
              ))}
            </ol>
            <p class="muted">
              Gates: success rate ≥ {gates.minSuccessRate !== undefined ? `${gates.minSuccessRate * 100}%` : '-'}
              {gates.maxP99Latency ? `, p99 ≤ ${gates.maxP99Latency}` : ''}
              {gates.minRequests !== undefined ? `, at least ${gates.minRequests} requests` : ''}
            </p>
            {st.failedGate && <p class="bad">Failed gate {gateText(st.failedGate)}</p>}
            {st.message && <p>{st.message}</p>}
            <div class="actions">
              <button type="button" disabled={busy || r.spec.paused} onClick={() => void act(r, 'pause')}>
                Pause
              </button>
              <button type="button" disabled={busy || !r.spec.paused} onClick={() => void act(r, 'resume')}>
                Resume
              </button>
              <button type="button" class="danger" disabled={busy} onClick={() => void act(r, 'abort')}>
                Abort
              </button>
            </div>
          </article>
        );
      })}
    </>
  );
}
