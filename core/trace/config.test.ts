// Tracing configuration from OpenTelemetry's environment variables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SAMPLER, TracingConfigError, tracingConfigFromEnv } from './config.js';

test('tracing_is_off_without_an_endpoint', () => {
  assert.equal(tracingConfigFromEnv({}), undefined);
  assert.equal(tracingConfigFromEnv({ OTEL_TRACES_SAMPLER: 'always_on' }), undefined);
});

test('tracing_base_endpoint_gets_v1_traces_appended_and_the_traces_endpoint_is_used_as_is', () => {
  assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })?.endpoint, 'http://collector:4318/v1/traces');
  assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/otlp/' })?.endpoint, 'http://collector:4318/otlp/v1/traces');
  assert.equal(
    tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b:4318/custom' })?.endpoint,
    'https://b:4318/custom',
  );
});

test('tracing_default_sampler_is_parentbased_always_on', () => {
  assert.deepEqual(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })?.sampler, DEFAULT_SAMPLER);
});

test('tracing_sampler_and_its_ratio_come_from_otel_traces_sampler', () => {
  const c = tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_SERVICE_NAME: 'wp' });
  assert.deepEqual(c, { endpoint: 'http://c:4318/v1/traces', sampler: { name: 'parentbased_traceidratio', ratio: 0.1 }, serviceName: 'wp' });
});

test('tracing_is_off_when_the_sdk_is_disabled_or_the_exporter_is_none', () => {
  assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }), undefined);
  assert.equal(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined);
});

test('tracing_bad_values_are_errors_naming_the_variable_and_value', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }, /OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318"/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER="sometimes": unknown sampler/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }, /OTEL_TRACES_SAMPLER_ARG="1.5"/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /OTEL_EXPORTER_OTLP_PROTOCOL="grpc": only "http\/protobuf"/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER="zipkin"/],
  ];
  for (const [env, message] of cases) assert.throws(() => tracingConfigFromEnv(env), (e: unknown) => e instanceof TracingConfigError && message.test(e.message));
});
