// The console's entry: the frame (navigation) and the page for the current URL. The graph
// page (and cytoscape with it) loads on demand, so the other pages stay a few kilobytes.
import './styles.css';
import type { FunctionComponent } from 'preact';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { FlowsPage } from './pages/flows.js';
import { MeshPage } from './pages/mesh.js';
import { PoliciesPage } from './pages/policies.js';
import { ServicePage } from './pages/service.js';
import { ServicesPage } from './pages/services.js';
import { WorkloadPage } from './pages/workload.js';
import { WorkloadsPage } from './pages/workloads.js';
import { interceptLinks, match, navigate, useLocation, type Location } from './router.js';

const NAV: Array<[string, string]> = [
  ['/graph', 'Graph'],
  ['/workloads', 'Workloads'],
  ['/services', 'Services'],
  ['/policies', 'Policies'],
  ['/flows', 'Flows'],
  ['/mesh', 'Mesh'],
];

type GraphPageType = FunctionComponent<{ loc: Location }>;
let graphPage: GraphPageType | undefined;

function LazyGraph({ loc }: { loc: Location }) {
  const [Comp, setComp] = useState<GraphPageType | undefined>(() => graphPage);
  const [error, setError] = useState<string>();
  useEffect(() => {
    if (Comp) return;
    import('./pages/graph.js').then(
      (m) => {
        graphPage = m.GraphPage;
        setComp(() => m.GraphPage);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  if (error) return <p class="error" role="alert">The graph page did not load: {error}</p>;
  return Comp ? <Comp loc={loc} /> : <p class="muted">Loading…</p>;
}

function Routed({ loc }: { loc: Location }) {
  const p = loc.path.replace(/\/+$/, '') || '/';
  let m: Record<string, string> | null;
  if (p === '/graph') return <LazyGraph loc={loc} />;
  if (p === '/workloads') return <WorkloadsPage loc={loc} />;
  if ((m = match('/workloads/:ns/:name', p))) return <WorkloadPage ns={m['ns']!} name={m['name']!} />;
  if (p === '/services') return <ServicesPage loc={loc} />;
  if ((m = match('/services/:ns/:name', p))) return <ServicePage ns={m['ns']!} name={m['name']!} />;
  if (p === '/policies') return <PoliciesPage loc={loc} />;
  if (p === '/flows') return <FlowsPage loc={loc} />;
  if (p === '/mesh') return <MeshPage />;
  return (
    <section class="page">
      <h1>Not found</h1>
      <p>
        No page at <code>{loc.path}</code>. <a href="/graph">Go to the graph</a>.
      </p>
    </section>
  );
}

function App() {
  const loc = useLocation();
  useEffect(() => {
    if (loc.path === '/' || loc.path === '/index.html') navigate('/graph', true);
  }, [loc.path]);
  const section = '/' + (loc.path.split('/')[1] ?? '');
  useEffect(() => {
    const label = NAV.find(([h]) => h === section)?.[1];
    document.title = label ? `${label} · Ambient mesh` : 'Ambient mesh';
  }, [section]);
  return (
    <>
      <nav class="top" aria-label="Pages">
        <span class="brand">Ambient mesh</span>
        {NAV.map(([href, label]) => (
          <a key={href} href={href} aria-current={section === href ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <main>
        <Routed loc={loc} />
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
interceptLinks(root);
render(<App />, root);
