// The settings of `ambientctl install`, `upgrade` and `manifest generate`: every key a user
// may pass with `--set key=value`, its type, default and meaning (docs/install.md lists
// them from here). Parsing is pure: a key that is not one of these, or a value of the wrong
// type, is refused with a message naming the key, before anything is rendered or sent.

export type SettingType = 'string' | 'path' | 'int' | 'bool' | 'quantity' | 'hostPort' | 'enum' | 'dnsName' | 'namespace';

export interface SettingDef {
  key: string;
  type: SettingType;
  /** The value when not set; undefined: not set (the program's own default applies). */
  default?: string | number | boolean;
  /** For `enum`. */
  values?: readonly string[];
  /** For `int`: the smallest value accepted. */
  min?: number;
  doc: string;
}

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** The mesh's namespace by default (ambientctl finds a mesh installed elsewhere with --mesh-namespace). */
export const DEFAULT_ROOT_NAMESPACE = 'ambient-system';

/** Namespaces the mesh may not be installed in: the cluster's own. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export const SETTINGS: readonly SettingDef[] = [
  { key: 'hub', type: 'string', default: 'ambient', doc: 'the registry and repository prefix of the mesh images (`<hub>/controller`, `<hub>/node-agent`)' },
  { key: 'tag', type: 'string', default: 'latest', doc: 'the tag of the mesh images' },
  { key: 'trustDomain', type: 'dnsName', default: 'cluster.local', doc: "the mesh's trust domain (`spiffe://<trustDomain>/ns/.../sa/...`), given to the controller and every node agent" },
  {
    key: 'rootNamespace',
    type: 'namespace',
    default: DEFAULT_ROOT_NAMESPACE,
    doc: "the namespace the mesh is installed in (controller, node agents, CA Secrets, roots) and where mesh-wide policy lives: one of its own (uninstall deletes it; `default` and `kube-*` are refused); ambientctl's other commands find a mesh installed elsewhere with `--mesh-namespace <ns>` (or `AMBIENT_MESH_NAMESPACE`)",
  },
  {
    key: 'pluginCaSecret',
    type: 'string',
    default: 'cacerts',
    doc: "the Secret in the root namespace holding an operator-provided CA (`ca-cert.pem`, `ca-key.pem`, `root-cert.pem`, `cert-chain.pem`); when it exists at the controller's start it signs every certificate, else the controller keeps its own self-signed CA in `ambient-ca`",
  },
  { key: 'logLevel', type: 'enum', values: LOG_LEVELS, default: 'info', doc: 'the log level of the controller and the node agents (`LOG_LEVEL`)' },
  { key: 'workers', type: 'int', min: 0, default: 0, doc: "the node agent's data-path worker threads (`AMBIENT_WORKERS`); 0: one per core of the node" },
  { key: 'controller.replicas', type: 'int', min: 1, default: 2, doc: 'controller replicas (one leader writes, all serve)' },
  { key: 'controller.requests.cpu', type: 'quantity', default: '50m', doc: "the controller container's CPU request" },
  { key: 'controller.requests.memory', type: 'quantity', default: '96Mi', doc: "the controller container's memory request" },
  { key: 'nodeAgent.requests.cpu', type: 'quantity', default: '100m', doc: "the node agent container's CPU request" },
  { key: 'nodeAgent.requests.memory', type: 'quantity', default: '128Mi', doc: "the node agent container's memory request" },
  { key: 'cni.binDir', type: 'path', default: '/opt/cni/bin', doc: "the node's CNI bin directory, where each agent installs the `ambient-cni` plugin (hostPath volume `cni-bin-dir`)" },
  { key: 'cni.confDir', type: 'path', default: '/etc/cni/net.d', doc: "the node's CNI configuration directory, whose first conflist each agent chains the plugin into (hostPath volume `cni-net-dir`)" },
  { key: 'redis.enabled', type: 'bool', default: false, doc: 'install the optional Redis (`manifests/redis.yaml`) for TrafficPolicy global rate limits, and point waypoints at it' },
  {
    key: 'redis.address',
    type: 'hostPort',
    doc: "a Redis for global rate limits, given to every waypoint (`--waypoint-redis-address`); default: the installed one (`redis.<rootNamespace>.svc:6379`) when `redis.enabled`, else none",
  },
  { key: 'controller.consoleDir', type: 'string', doc: "where the controller reads the web console's built files (`--console-dir`); default: the files in its image" },
  { key: 'controller.waypointTemplate', type: 'string', doc: "a file in the controller's filesystem holding the waypoint template (`--waypoint-template`); default: the one in its image" },
  { key: 'controller.prometheusUrl', type: 'string', doc: "a Prometheus scraping the mesh, for the console's longer graph windows (`--prometheus-url`)" },
];

/** Keys with a free part: `controller.env.NAME=value` sets an environment variable of the container. */
export const ENV_PREFIXES = { 'controller.env.': 'controller', 'nodeAgent.env.': 'nodeAgent' } as const;

export type Component = (typeof ENV_PREFIXES)[keyof typeof ENV_PREFIXES];

export interface Settings {
  values: Record<string, string | number | boolean | undefined>;
  env: Record<Component, Record<string, string>>;
}

export class SettingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingError';
  }
}

const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAMESPACE = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function defaultSettings(): Settings {
  const values: Settings['values'] = {};
  for (const d of SETTINGS) values[d.key] = d.default;
  return { values, env: { controller: {}, nodeAgent: {} } };
}

/** A value of `def`'s type, or a SettingError naming the key and what it takes. */
export function parseValue(def: SettingDef, raw: string): string | number | boolean {
  const bad = (what: string) => new SettingError(`--set ${def.key}=${raw}: ${what}`);
  switch (def.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw)) throw bad('not an integer');
      const n = Number(raw);
      if (def.min !== undefined && n < def.min) throw bad(`must be at least ${def.min}`);
      return n;
    }
    case 'bool':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw bad('must be true or false');
    case 'quantity':
      if (!QUANTITY.test(raw)) throw bad('not a resource quantity (e.g. 100m, 0.5, 128Mi, 1Gi)');
      return raw;
    case 'hostPort': {
      const i = raw.lastIndexOf(':');
      const port = Number(raw.slice(i + 1));
      if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw bad('not host:port (a port from 1 to 65535)');
      return raw;
    }
    case 'enum':
      if (!def.values!.includes(raw)) throw bad(`must be one of ${def.values!.join(', ')}`);
      return raw;
    case 'dnsName':
      if (!DNS_NAME.test(raw)) throw bad('not a DNS name (lower case letters, digits, - and .)');
      return raw;
    case 'namespace':
      if (!NAMESPACE.test(raw)) throw bad('not a namespace name');
      if (def.key === 'rootNamespace' && SYSTEM_NAMESPACES.includes(raw)) throw bad("the mesh needs a namespace of its own (uninstall deletes it, and no workload there gets a mesh certificate)");
      return raw;
    case 'string':
      if (raw === '') throw bad('must not be empty');
      return raw;
    case 'path':
      if (!raw.startsWith('/') || raw.split('/').includes('..')) throw bad('must be an absolute path without ..');
      return raw;
  }
}

/** Applies `key=value` assignments, in order (a later one wins), to a copy of `base`. */
export function applySets(assignments: readonly string[], base: Settings = defaultSettings()): Settings {
  const out: Settings = { values: { ...base.values }, env: { controller: { ...base.env.controller }, nodeAgent: { ...base.env.nodeAgent } } };
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new SettingError(`--set ${a}: expected key=value`);
    const key = a.slice(0, eq);
    const raw = a.slice(eq + 1);
    const prefix = (Object.keys(ENV_PREFIXES) as (keyof typeof ENV_PREFIXES)[]).find((p) => key.startsWith(p));
    if (prefix) {
      const name = key.slice(prefix.length);
      if (!ENV_NAME.test(name)) throw new SettingError(`--set ${a}: ${JSON.stringify(name)} is not an environment variable name`);
      out.env[ENV_PREFIXES[prefix]][name] = raw;
      continue;
    }
    const def = SETTINGS.find((d) => d.key === key);
    if (!def) throw new SettingError(`--set ${a}: unknown setting ${JSON.stringify(key)} (known: ${[...SETTINGS.map((d) => d.key), 'controller.env.NAME', 'nodeAgent.env.NAME'].join(', ')})`);
    out.values[key] = parseValue(def, raw);
  }
  return out;
}

/** `--set a=1 --set b=2` (commander option parser). Not split on commas: a value may hold one (an env value). */
export function collectSets(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
