// The traffic split control of a service page: a weight per backend, applied with
// PUT /api/v1/services/{ns}/{name}/split, then the HTTPRoute the API wrote.
import { useEffect, useState } from 'preact/hooks';
import type { HttpRouteObject, RouteBackend } from '../api-types.js';
import { api } from '../api.js';
import { ErrorBanner } from '../components.js';

export function WeightControl(props: { ns: string; name: string; backends: RouteBackend[]; onApplied: () => void }) {
  const initial = () => Object.fromEntries(props.backends.map((b) => [b.name, b.weight]));
  const [weights, setWeights] = useState<Record<string, number>>(initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();
  const [result, setResult] = useState<HttpRouteObject>();
  const key = props.backends.map((b) => `${b.name}=${b.weight}`).join(',');
  useEffect(() => setWeights(initial()), [key]);

  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  const send = async (body: Parameters<typeof api.split>[2]) => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.split(props.ns, props.name, body));
      props.onApplied();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      class="weights"
      aria-label="Traffic split"
      onSubmit={(e) => {
        e.preventDefault();
        void send({ weights });
      }}
    >
      {props.backends.map((b) => (
        <div class="weight-row" key={b.name}>
          <label for={`weight-${b.name}`}>{b.name}</label>
          <input
            type="range"
            min={0}
            max={100}
            value={weights[b.name] ?? 0}
            aria-label={`${b.name} weight slider`}
            onInput={(e) => setWeights({ ...weights, [b.name]: Number((e.target as HTMLInputElement).value) })}
          />
          <input
            id={`weight-${b.name}`}
            name={`weight-${b.name}`}
            type="number"
            min={0}
            max={1000}
            value={weights[b.name] ?? 0}
            onInput={(e) => setWeights({ ...weights, [b.name]: Math.max(0, Math.trunc(Number((e.target as HTMLInputElement).value) || 0)) })}
          />
          <span class="muted">{total > 0 ? `${(((weights[b.name] ?? 0) / total) * 100).toFixed(0)}%` : '-'}</span>
          <button type="button" disabled={busy} onClick={() => void send({ to: b.name })}>
            All to {b.name}
          </button>
        </div>
      ))}
      <button type="submit" disabled={busy || total === 0}>
        Apply weights
      </button>
      <ErrorBanner error={error} />
      {result && (
        <div class="result">
          <h3>
            HTTPRoute {result.metadata.namespace}/{result.metadata.name} now
          </h3>
          <pre class="object">{JSON.stringify(result, null, 2)}</pre>
        </div>
      )}
    </form>
  );
}
