// What makes an object invalid, per kind: pure, returns kube-apiserver-style field errors
// (empty when valid). It takes any JSON, however malformed, without throwing: a bad
// object is refused alone with a 422 that names each field. Checks are those of
// kube-apiserver's validation for the fields the mesh and the local cluster rely on,
// plus immutability on update (`old` given); the Gateway API checks are the ones their CRD
// schemas make. A CRD-defined kind is checked against its CRD's schema and CEL rules, as
// kube-apiserver checks a custom resource (after pruning, resources.ts).
import type { StatusCause } from './api-errors.js';
import { FieldErrors, isIPv4, isIPv6, portNameError, specialIpError, type NameFormat } from './field-errors.js';
import type { KObject, KindInfo } from './kinds.js';
import { jsonEqual } from './json-values.js';
import { checkRules } from './cel-rules.js';
import { validateCrd } from './crd.js';
import { labelKeyError, labelValueError, matchesLabels, requirementsFromLabelSelector } from './selectors.js';
import { checkSchema, type Schema } from './structural-schema.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const NAME_FORMAT: Record<string, NameFormat> = {
  Namespace: 'dns1123-label',
  Service: 'dns1035-label',
};

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** `served`: the kinds served now (a CRD must not take another's names). */
export function validateObject(k: KindInfo, obj: KObject, old?: KObject, served: readonly KindInfo[] = []): StatusCause[] {
  const e = new FieldErrors();
  validateMeta(e, k, obj);
  if (k.schema) validateCustom(e, k.schema, obj, old);
  else if (k.kind === 'CustomResourceDefinition' && k.group === 'apiextensions.k8s.io') e.causes.push(...validateCrd(obj, old, served));
  else {
    const validate = KIND_VALIDATORS[k.kind];
    if (validate) validate(e, obj as Obj, old as Obj | undefined);
  }
  return e.causes;
}

/** A custom resource against its CRD's schema (the envelope is the server's) and then its CEL rules. */
function validateCustom(e: FieldErrors, schema: Schema, obj: KObject, old: KObject | undefined): void {
  const { apiVersion: _a, kind: _k, metadata: _m, ...body } = obj;
  const before = e.causes.length;
  checkSchema(e, '', body, schema);
  // Rules see values of the declared types only (kube-apiserver runs them after the schema passes).
  if (e.causes.length === before) checkRules(e, '', obj, old, schema);
}

function validateMeta(e: FieldErrors, k: KindInfo, obj: KObject): void {
  const m = e.object('metadata', obj.metadata);
  if (!m) return e.required('metadata.name', 'name or generateName is required');
  e.name('metadata.name', m['name'], NAME_FORMAT[k.kind] ?? 'dns1123-subdomain');
  if (k.namespaced) e.name('metadata.namespace', m['namespace'], 'dns1123-label');
  const labels = e.object('metadata.labels', m['labels']);
  for (const [key, v] of Object.entries(labels ?? {})) {
    const why = labelKeyError(key);
    if (why) e.invalid('metadata.labels', key, why);
    if (typeof v !== 'string') e.invalid(`metadata.labels`, v, `the value of label "${key}" must be a string`);
    else {
      const vwhy = labelValueError(v);
      if (vwhy) e.invalid('metadata.labels', v, vwhy);
    }
  }
  const annotations = e.object('metadata.annotations', m['annotations']);
  let size = 0;
  for (const [key, v] of Object.entries(annotations ?? {})) {
    const why = labelKeyError(key.toLowerCase());
    if (why) e.invalid('metadata.annotations', key, why);
    if (typeof v !== 'string') e.invalid('metadata.annotations', v, `the value of annotation "${key}" must be a string`);
    size += key.length + String(v).length;
  }
  if (size > MAX_ANNOTATIONS_BYTES) e.tooLong('metadata.annotations', MAX_ANNOTATIONS_BYTES);
  e.list('metadata.ownerReferences', m['ownerReferences']).forEach((r, i) => {
    const p = `metadata.ownerReferences[${i}]`;
    const ref = e.object(p, r);
    if (!ref) return;
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) if (!ref[f]) e.required(`${p}.${f}`);
  });
  const fin = e.list('metadata.finalizers', m['finalizers']);
  fin.forEach((f, i) => {
    if (typeof f !== 'string' || f === '') e.invalid(`metadata.finalizers[${i}]`, f, 'must be a non-empty string');
  });
}

type Validator = (e: FieldErrors, obj: Obj, old?: Obj) => void;

function validateContainers(e: FieldErrors, path: string, v: unknown, required: boolean, names: Set<string>): void {
  const list = e.list(path, v);
  if (required && list.length === 0) return e.required(path);
  list.forEach((c, i) => {
    const p = `${path}[${i}]`;
    const ctr = e.object(p, c);
    if (!ctr) return;
    e.name(`${p}.name`, ctr['name'], 'dns1123-label');
    if (typeof ctr['name'] === 'string') {
      if (names.has(ctr['name'])) e.duplicate(`${p}.name`, ctr['name']);
      names.add(ctr['name']);
    }
    if (typeof ctr['image'] !== 'string' || ctr['image'].trim() === '') e.required(`${p}.image`);
    const ports = new Set<string>();
    e.list(`${p}.ports`, ctr['ports']).forEach((pt, j) => {
      const pp = `${p}.ports[${j}]`;
      const port = e.object(pp, pt);
      if (!port) return;
      if (port['containerPort'] === undefined) e.required(`${pp}.containerPort`);
      else e.port(`${pp}.containerPort`, port['containerPort']);
      e.oneOf(`${pp}.protocol`, port['protocol'], PROTOCOLS);
      if (port['name'] !== undefined) {
        const why = typeof port['name'] === 'string' ? portNameError(port['name']) : 'must be a string';
        if (why) e.invalid(`${pp}.name`, port['name'], why);
        else if (ports.has(port['name'] as string)) e.duplicate(`${pp}.name`, port['name']);
        ports.add(port['name'] as string);
      }
    });
    e.list(`${p}.env`, ctr['env']).forEach((ev, j) => {
      const env = e.object(`${p}.env[${j}]`, ev);
      if (env && (typeof env['name'] !== 'string' || env['name'] === '')) e.required(`${p}.env[${j}].name`);
    });
    e.list(`${p}.volumeMounts`, ctr['volumeMounts']).forEach((vm, j) => {
      const mount = e.object(`${p}.volumeMounts[${j}]`, vm);
      if (!mount) return;
      if (!mount['name']) e.required(`${p}.volumeMounts[${j}].name`);
      if (!mount['mountPath']) e.required(`${p}.volumeMounts[${j}].mountPath`);
    });
  });
}

function validatePodSpec(e: FieldErrors, path: string, v: unknown, template = false): void {
  const spec = e.object(path, v);
  if (!spec) return e.required(path);
  const names = new Set<string>();
  validateContainers(e, `${path}.containers`, spec['containers'], true, names);
  validateContainers(e, `${path}.initContainers`, spec['initContainers'], false, names);
  e.oneOf(`${path}.restartPolicy`, spec['restartPolicy'], template ? ['Always'] : ['Always', 'OnFailure', 'Never']);
  const volumes = new Set<string>();
  e.list(`${path}.volumes`, spec['volumes']).forEach((vol, i) => {
    const vo = e.object(`${path}.volumes[${i}]`, vol);
    if (!vo) return;
    e.name(`${path}.volumes[${i}].name`, vo['name'], 'dns1123-label');
    if (typeof vo['name'] === 'string') {
      if (volumes.has(vo['name'])) e.duplicate(`${path}.volumes[${i}].name`, vo['name']);
      volumes.add(vo['name']);
    }
  });
  if (spec['nodeName'] !== undefined && spec['nodeName'] !== '') e.name(`${path}.nodeName`, spec['nodeName'], 'dns1123-subdomain');
  if (spec['serviceAccountName'] !== undefined && spec['serviceAccountName'] !== '') {
    e.name(`${path}.serviceAccountName`, spec['serviceAccountName'], 'dns1123-subdomain');
  }
}

const validatePod: Validator = (e, obj) => validatePodSpec(e, 'spec', obj['spec']);

/** The selector and pod template that Deployments and DaemonSets share. */
function validateSelectorAndTemplate(e: FieldErrors, spec: Obj, old: Obj | undefined, kind: string): void {
  const sel = e.object('spec.selector', spec['selector']);
  const template = e.object('spec.template', spec['template']);
  if (!sel) e.required('spec.selector');
  else {
    const reqs = requirementsFromLabelSelector(sel as never);
    if (reqs.length === 0) e.invalid('spec.selector', sel, `empty selector is invalid for ${kind}`);
    const labels = isObj(template?.['metadata']) ? (template['metadata'] as Obj)['labels'] : undefined;
    if (reqs.length > 0 && !matchesLabels(reqs, isObj(labels) ? (labels as Record<string, string>) : {})) {
      e.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`');
    }
  }
  if (!template) e.required('spec.template');
  else validatePodSpec(e, 'spec.template.spec', template['spec'], true);
  const oldSel = isObj(old?.['spec']) ? (old['spec'] as Obj)['selector'] : undefined;
  if (old && oldSel !== undefined && !jsonEqual(oldSel, spec['selector'])) e.immutable('spec.selector', spec['selector']);
}

const validateDeployment: Validator = (e, obj, old) => {
  const spec = e.object('spec', obj['spec']);
  if (!spec) return e.required('spec');
  const r = spec['replicas'];
  if (r !== undefined && (!Number.isInteger(r) || (r as number) < 0)) e.invalid('spec.replicas', r, 'must be greater than or equal to 0');
  validateSelectorAndTemplate(e, spec, old, 'deployment');
  const strategy = e.object('spec.strategy', spec['strategy']);
  if (strategy) e.oneOf('spec.strategy.type', strategy['type'], ['Recreate', 'RollingUpdate']);
};

const validateDaemonSet: Validator = (e, obj, old) => {
  const spec = e.object('spec', obj['spec']);
  if (!spec) return e.required('spec');
  validateSelectorAndTemplate(e, spec, old, 'daemonset');
  const strategy = e.object('spec.updateStrategy', spec['updateStrategy']);
  if (strategy) e.oneOf('spec.updateStrategy.type', strategy['type'], ['OnDelete', 'RollingUpdate']);
};

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

const validateService: Validator = (e, obj, old) => {
  const spec = e.object('spec', obj['spec']) ?? {};
  const type = spec['type'] ?? 'ClusterIP';
  e.oneOf('spec.type', type, SERVICE_TYPES);
  const ip = spec['clusterIP'];
  if (ip !== undefined && ip !== '' && ip !== 'None' && !(typeof ip === 'string' && isIPv4(ip))) {
    e.invalid('spec.clusterIP', ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)');
  }
  const headless = ip === 'None';
  const ports = e.list('spec.ports', spec['ports']);
  if (ports.length === 0 && type !== 'ExternalName' && !headless) e.required('spec.ports');
  const names = new Set<string>();
  ports.forEach((pt, i) => {
    const p = `spec.ports[${i}]`;
    const port = e.object(p, pt);
    if (!port) return;
    if (port['port'] === undefined) e.required(`${p}.port`);
    else e.port(`${p}.port`, port['port']);
    e.oneOf(`${p}.protocol`, port['protocol'], PROTOCOLS);
    const name = port['name'];
    if (ports.length > 1 && (name === undefined || name === '')) e.required(`${p}.name`);
    if (typeof name === 'string' && name !== '') {
      const why = portNameErrorForService(name);
      if (why) e.invalid(`${p}.name`, name, why);
      if (names.has(name)) e.duplicate(`${p}.name`, name);
      names.add(name);
    }
    const tp = port['targetPort'];
    if (typeof tp === 'number') e.port(`${p}.targetPort`, tp);
    else if (typeof tp === 'string') {
      const why = /^\d+$/.test(tp) ? (Number(tp) >= 1 && Number(tp) <= 65535 ? undefined : 'must be between 1 and 65535, inclusive') : portNameError(tp);
      if (why) e.invalid(`${p}.targetPort`, tp, why);
    } else if (tp !== undefined) e.invalid(`${p}.targetPort`, tp, 'must be a port number or name');
    if (port['nodePort'] !== undefined && port['nodePort'] !== 0) {
      const np = port['nodePort'];
      if (type !== 'NodePort' && type !== 'LoadBalancer') e.forbidden(`${p}.nodePort`, 'may not be used when `type` is \'ClusterIP\'');
      else if (!Number.isInteger(np) || (np as number) < 30000 || (np as number) > 32767) e.invalid(`${p}.nodePort`, np, 'provided port is not in the valid range. The range of valid ports is 30000-32767');
    }
  });
  const sel = e.object('spec.selector', spec['selector']);
  for (const [key, v] of Object.entries(sel ?? {})) {
    const why = labelKeyError(key) ?? (typeof v === 'string' ? labelValueError(v) : 'must be a string');
    if (why) e.invalid('spec.selector', { [key]: v }, why);
  }
  if (type === 'ExternalName' && (typeof spec['externalName'] !== 'string' || spec['externalName'] === '')) e.required('spec.externalName');
  const oldIP = isObj(old?.['spec']) ? (old['spec'] as Obj)['clusterIP'] : undefined;
  if (old && oldIP && ip && oldIP !== ip && type !== 'ExternalName') e.immutable('spec.clusterIP', ip);
};

function portNameErrorForService(name: string): string | undefined {
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) && name.length <= 63
    ? undefined
    : "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
}

const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

function validateDataKeys(e: FieldErrors, path: string, data: Obj | undefined, valueCheck: (v: unknown) => string | undefined): void {
  for (const [key, v] of Object.entries(data ?? {})) {
    if (!DATA_KEY.test(key) || key.length > 253) {
      e.invalid(path, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    }
    const why = valueCheck(v);
    if (why) e.invalid(`${path}[${key}]`, typeof v === 'string' ? '<value>' : v, why);
  }
}

const validateSecret: Validator = (e, obj) => {
  validateDataKeys(e, 'data', e.object('data', obj['data']), (v) =>
    typeof v !== 'string' ? 'must be a base64-encoded string' : /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0 ? undefined : 'illegal base64 data',
  );
  validateDataKeys(e, 'stringData', e.object('stringData', obj['stringData']), (v) => (typeof v === 'string' ? undefined : 'must be a string'));
};

const validateConfigMap: Validator = (e, obj) => {
  validateDataKeys(e, 'data', e.object('data', obj['data']), (v) => (typeof v === 'string' ? undefined : 'must be a string'));
  validateDataKeys(e, 'binaryData', e.object('binaryData', obj['binaryData']), (v) => (typeof v === 'string' ? undefined : 'must be a base64-encoded string'));
};

const validateEndpointSlice: Validator = (e, obj) => {
  const at = obj['addressType'];
  if (at === undefined) e.required('addressType');
  else e.oneOf('addressType', at, ['IPv4', 'IPv6', 'FQDN']);
  e.list('endpoints', obj['endpoints']).forEach((ep, i) => {
    const end = e.object(`endpoints[${i}]`, ep);
    if (!end) return;
    const addrs = e.list(`endpoints[${i}].addresses`, end['addresses']);
    if (addrs.length === 0) e.required(`endpoints[${i}].addresses`);
    addrs.forEach((a, j) => {
      const p = `endpoints[${i}].addresses[${j}]`;
      if (at === 'IPv4' && !(typeof a === 'string' && isIPv4(a))) return e.invalid(p, a, 'must be a valid IPv4 address');
      if (at === 'IPv6' && !(typeof a === 'string' && isIPv6(a))) return e.invalid(p, a, 'must be a valid IPv6 address');
      // Loopback, unspecified and link-local endpoints are refused, as kube-apiserver does:
      // a Service must not send the mesh's traffic to whatever listens on a node's loopback.
      const why = (at === 'IPv4' || at === 'IPv6') && typeof a === 'string' ? specialIpError(a) : undefined;
      if (why) e.invalid(p, a, why);
    });
  });
  e.list('ports', obj['ports']).forEach((pt, i) => {
    const port = e.object(`ports[${i}]`, pt);
    if (!port) return;
    if (port['port'] !== undefined && port['port'] !== null) e.port(`ports[${i}].port`, port['port']);
    e.oneOf(`ports[${i}].protocol`, port['protocol'], PROTOCOLS);
  });
};

const validateGateway: Validator = (e, obj) => {
  const spec = e.object('spec', obj['spec']);
  if (!spec) return e.required('spec');
  if (typeof spec['gatewayClassName'] !== 'string' || spec['gatewayClassName'] === '') e.required('spec.gatewayClassName');
  const listeners = e.list('spec.listeners', spec['listeners']);
  if (listeners.length === 0) e.required('spec.listeners');
  if (listeners.length > 64) e.invalid('spec.listeners', listeners.length, 'must have at most 64 items');
  const names = new Set<string>();
  listeners.forEach((l, i) => {
    const p = `spec.listeners[${i}]`;
    const li = e.object(p, l);
    if (!li) return;
    e.name(`${p}.name`, li['name'], 'dns1123-subdomain');
    if (typeof li['name'] === 'string') {
      if (names.has(li['name'])) e.duplicate(`${p}.name`, li['name']);
      names.add(li['name']);
    }
    if (li['port'] === undefined) e.required(`${p}.port`);
    else e.port(`${p}.port`, li['port']);
    if (typeof li['protocol'] !== 'string' || li['protocol'] === '') e.required(`${p}.protocol`);
  });
};

/** HTTPRouteRetry (apis/v1/httproute_types.go, experimental channel). */
const HTTP_ROUTE_RETRY: Schema = {
  type: 'object',
  properties: {
    codes: { type: 'array', items: { type: 'integer', minimum: 400, maximum: 599 } },
    attempts: { type: 'integer', minimum: 1 },
    backoff: { type: 'string', maxLength: 64 },
  },
};

const validateRoute: Validator = (e, obj) => {
  const spec = e.object('spec', obj['spec']) ?? {};
  e.list('spec.parentRefs', spec['parentRefs']).forEach((r, i) => {
    const ref = e.object(`spec.parentRefs[${i}]`, r);
    if (ref && (typeof ref['name'] !== 'string' || ref['name'] === '')) e.required(`spec.parentRefs[${i}].name`);
    if (ref && ref['port'] !== undefined) e.port(`spec.parentRefs[${i}].port`, ref['port']);
  });
  const rules = e.list('spec.rules', spec['rules']);
  if (rules.length > 16) e.invalid('spec.rules', rules.length, 'must have at most 16 items');
  rules.forEach((r, i) => {
    const rule = e.object(`spec.rules[${i}]`, r);
    if (!rule) return;
    // rules[].retry (experimental channel, HTTPRoute only): codes 400-599, attempts >= 1, a Duration.
    if (rule['retry'] !== undefined) checkSchema(e, `spec.rules[${i}].retry`, rule['retry'], HTTP_ROUTE_RETRY);
    e.list(`spec.rules[${i}].backendRefs`, rule['backendRefs']).forEach((b, j) => {
      const p = `spec.rules[${i}].backendRefs[${j}]`;
      const ref = e.object(p, b);
      if (!ref) return;
      if (typeof ref['name'] !== 'string' || ref['name'] === '') e.required(`${p}.name`);
      if (ref['port'] !== undefined) e.port(`${p}.port`, ref['port']);
    });
  });
};

const KIND_VALIDATORS: Record<string, Validator> = {
  Pod: validatePod,
  Deployment: validateDeployment,
  DaemonSet: validateDaemonSet,
  Service: validateService,
  Secret: validateSecret,
  ConfigMap: validateConfigMap,
  EndpointSlice: validateEndpointSlice,
  Gateway: validateGateway,
  HTTPRoute: validateRoute,
  GRPCRoute: validateRoute,
};
