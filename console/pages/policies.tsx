// /policies: every policy with its status conditions and dry-run findings, and the explain
// form: POST /api/v1/authz/check, answered as `ambientctl authz check` answers.
import { useState } from 'preact/hooks';
import type { AuthzCheckResult } from '../api-types.js';
import { api } from '../api.js';
import { Badge, Conditions, Empty, ErrorBanner, NamespaceFilter, Page, useApi } from '../components.js';
import type { Location } from '../router.js';

function Explain() {
  const [result, setResult] = useState<AuthzCheckResult>();
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const submit = async (form: HTMLFormElement) => {
    const f = new FormData(form);
    const str = (k: string) => String(f.get(k) ?? '').trim();
    setBusy(true);
    setError(undefined);
    try {
      setResult(
        await api.authzCheck({
          from: str('from'),
          to: str('to'),
          port: Number(str('port')),
          ...(str('method') && { method: str('method') }),
          ...(str('path') && { path: str('path') }),
        }),
      );
    } catch (e) {
      setResult(undefined);
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="explain" aria-labelledby="explain-title">
      <h2 id="explain-title">Explain a decision</h2>
      <form
        class="explain-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit(e.currentTarget as HTMLFormElement);
        }}
      >
        <label>
          From (identity, namespace/serviceaccount or namespace/pod)
          <input name="from" required placeholder="spiffe://cluster.local/ns/shop/sa/client" />
        </label>
        <label>
          To (service namespace/name)
          <input name="to" required placeholder="shop/echo" />
        </label>
        <label>
          Port
          <input name="port" type="number" min={1} max={65535} required placeholder="8080" />
        </label>
        <label>
          Method
          <input name="method" placeholder="GET" />
        </label>
        <label>
          Path
          <input name="path" placeholder="/api" />
        </label>
        <button type="submit" disabled={busy}>
          Explain
        </button>
      </form>
      <ErrorBanner error={error} />
      {result && (
        <div class="decision" role="status">
          <p>
            <Badge kind={result.decision === 'ALLOW' ? 'ok' : 'bad'}>{result.decision}</Badge>{' '}
            <span class="decision-rule">
              {result.policy ? `policy ${result.policy} rule ${result.rule ?? '-'}` : 'no policy decided'}
            </span>
          </p>
          <p class="decision-message">{result.message}</p>
          <p class="muted">
            Decided at {result.enforcedBy} ({result.enforcedAt}), reason {result.reason}
          </p>
          {result.dryRun && (
            <p class="warn">
              With dry-run policies enforced: {result.dryRun.decision} ({result.dryRun.message})
            </p>
          )}
          {result.considered.length > 0 && (
            <details>
              <summary>Policies considered ({result.considered.length})</summary>
              <ul>
                {result.considered.map((c, i) => (
                  <li key={i}>
                    {c.policy}
                    {c.action ? ` (${c.action})` : ''}
                    {c.matched ? ': matched' : ''}
                  </li>
                ))}
              </ul>
            </details>
          )}
          {result.notes.length > 0 && (
            <ul class="notes">
              {result.notes.map((n, i) => (
                <li key={i}>{n}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

export function PoliciesPage({ loc }: { loc: Location }) {
  const ns = loc.query.get('namespace') ?? '';
  const all = useApi((s) => api.policies(undefined, s), []);
  const items = (all.data?.items ?? []).filter((p) => !ns || p.namespace === ns);
  const namespaces = [...new Set((all.data?.items ?? []).map((p) => p.namespace))];
  return (
    <Page title="Policies" loaded={all} actions={<NamespaceFilter value={ns} namespaces={namespaces} />}>
      {items.length === 0 ? (
        <Empty>No policies{ns ? ` in ${ns}` : ''}.</Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Name</th>
              <th>Namespace</th>
              <th>Kind</th>
              <th>Action</th>
              <th>Status</th>
              <th>Dry-run findings</th>
            </tr>
          </thead>
          <tbody>
            {items.map((p) => (
              <tr key={`${p.kind}/${p.namespace}/${p.name}`}>
                <td>{p.name}</td>
                <td>{p.namespace}</td>
                <td>{p.kind}</td>
                <td>
                  {p.action ?? '-'}
                  {p.dryRun && <Badge kind="warn">dry-run</Badge>}
                </td>
                <td>
                  <Conditions conditions={p.conditions} />
                </td>
                <td>
                  {p.findings.length === 0 ? (
                    <span class="muted">-</span>
                  ) : (
                    <ul class="findings">
                      {p.findings.map((f, i) => (
                        <li key={i}>{f}</li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Explain />
    </Page>
  );
}
