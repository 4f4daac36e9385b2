// Tracing configuration from the environment, by OpenTelemetry's own variable names
// (OpenTelemetry specification, "SDK environment variables" and "OTLP exporter
// configuration"), so that an operator configures the mesh's spans like any other
// OpenTelemetry SDK's. Pure: an environment record in, a config (or an error naming the
// variable and its value) out.
//
// Tracing is on when an OTLP endpoint is configured and neither OTEL_SDK_DISABLED=true nor
// OTEL_TRACES_EXPORTER=none says otherwise. Only OTLP over HTTP/protobuf is exported.
import { SAMPLER_NAMES, type SamplerConfig, type SamplerName } from './sampler.js';

export interface TracingConfig {
  /** The full URL spans are POSTed to (`.../v1/traces`). */
  endpoint: string;
  sampler: SamplerConfig;
  /** OTEL_SERVICE_NAME, when set (else the program names itself). */
  serviceName?: string;
}

/** The default sampler (OpenTelemetry's): follow the caller's decision, sample new traces. */
export const DEFAULT_SAMPLER: SamplerConfig = { name: 'parentbased_always_on', ratio: 1 };

export class TracingConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    why: string,
  ) {
    super(`${variable}=${JSON.stringify(value)}: ${why}`);
    this.name = 'TracingConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const get = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
};

function url(variable: string, value: string): URL {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new TracingConfigError(variable, value, 'not a URL (expected http://host:port or https://host:port)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TracingConfigError(variable, value, 'only http and https endpoints are supported');
  return u;
}

/**
 * The tracing configuration the environment asks for; undefined when tracing is off.
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as it is; OTEL_EXPORTER_OTLP_ENDPOINT is a base
 * URL to which `v1/traces` is appended, as the OTLP exporter specification says.
 */
export function tracingConfigFromEnv(env: Env): TracingConfig | undefined {
  const disabled = get(env, 'OTEL_SDK_DISABLED');
  if (disabled !== undefined && disabled.toLowerCase() === 'true') return undefined;
  const exporter = get(env, 'OTEL_TRACES_EXPORTER');
  if (exporter !== undefined) {
    const e = exporter.toLowerCase();
    if (e === 'none') return undefined;
    if (e !== 'otlp') throw new TracingConfigError('OTEL_TRACES_EXPORTER', exporter, 'only "otlp" (or "none") is supported');
  }
  for (const variable of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const p = get(env, variable);
    if (p !== undefined && p !== 'http/protobuf') throw new TracingConfigError(variable, p, 'only "http/protobuf" is supported');
  }
  const tracesEndpoint = get(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const baseEndpoint = get(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let endpoint: string;
  if (tracesEndpoint !== undefined) endpoint = url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint).href;
  else if (baseEndpoint !== undefined) {
    const base = url('OTEL_EXPORTER_OTLP_ENDPOINT', baseEndpoint);
    endpoint = `${base.href.replace(/\/+$/, '')}/v1/traces`;
  } else return undefined;

  const config: TracingConfig = { endpoint, sampler: samplerFromEnv(env) };
  const serviceName = get(env, 'OTEL_SERVICE_NAME');
  if (serviceName !== undefined) config.serviceName = serviceName;
  return config;
}

/** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (the ratio of the traceidratio samplers, default 1.0). */
export function samplerFromEnv(env: Env): SamplerConfig {
  const name = get(env, 'OTEL_TRACES_SAMPLER');
  if (name === undefined) return DEFAULT_SAMPLER;
  if (!(SAMPLER_NAMES as readonly string[]).includes(name)) {
    throw new TracingConfigError('OTEL_TRACES_SAMPLER', name, `unknown sampler; one of ${SAMPLER_NAMES.join(', ')}`);
  }
  const arg = get(env, 'OTEL_TRACES_SAMPLER_ARG');
  let ratio = 1;
  if (arg !== undefined && name.endsWith('traceidratio')) {
    ratio = Number(arg);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new TracingConfigError('OTEL_TRACES_SAMPLER_ARG', arg, 'the ratio must be a number from 0 to 1');
  }
  return { name: name as SamplerName, ratio };
}
