// Sampling decisions, pure. The samplers are OpenTelemetry's built-in ones, by the names
// `OTEL_TRACES_SAMPLER` takes (OpenTelemetry specification, "SDK environment variables"):
// always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off,
// parentbased_traceidratio.
//
// traceidratio decides from the trace id alone, so every participant that sees the same
// trace with the same ratio decides the same way (an agent, the waypoint and the other
// agent keep or drop a trace together). The random part is the trace id's rightmost 7 bytes
// (56 bits), which W3C Trace Context level 2 requires to be random ("random" trace-id
// flag) and OpenTelemetry's consistent-probability sampling uses: sampled when that value
// is below ratio * 2^56.

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export const SAMPLER_NAMES: readonly SamplerName[] = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'];

export interface SamplerConfig {
  name: SamplerName;
  /** For the traceidratio samplers: 0..1. */
  ratio: number;
}

const TWO_56 = 2 ** 56;

/** The root decision of traceidratio for `traceId` (32 hex digits). */
export function traceIdRatioSampled(traceId: string, ratio: number): boolean {
  if (ratio >= 1) return true;
  if (ratio <= 0) return false;
  // 56 bits do not fit a double exactly as an integer product, but two halves do.
  const hi = parseInt(traceId.slice(18, 25), 16); // 28 bits
  const lo = parseInt(traceId.slice(25, 32), 16); // 28 bits
  return hi * 2 ** 28 + lo < ratio * TWO_56;
}

/** Whether a span is recorded and exported. `parentSampled` is the incoming context's
 * sampled flag, undefined when the span starts a trace (or the parent is not to be trusted
 * for sampling, see docs/observability.md). */
export function shouldSample(s: SamplerConfig, traceId: string, parentSampled: boolean | undefined): boolean {
  switch (s.name) {
    case 'always_on':
      return true;
    case 'always_off':
      return false;
    case 'traceidratio':
      return traceIdRatioSampled(traceId, s.ratio);
    case 'parentbased_always_on':
      return parentSampled ?? true;
    case 'parentbased_always_off':
      return parentSampled ?? false;
    case 'parentbased_traceidratio':
      return parentSampled ?? traceIdRatioSampled(traceId, s.ratio);
  }
}
