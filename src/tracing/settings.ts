import { z } from 'zod';
import { setting, type SettingsOf } from '../settings';

/**
 * The OpenTelemetry variables that decide whether billflow traces at all. Only these are read here:
 * everything else about the traces (service name, resource attributes, sampler, propagators,
 * exporter headers, timeouts, batching) is read by the OpenTelemetry SDK itself from the standard
 * `OTEL_*` variables, so they mean what they mean everywhere else.
 */
/** An OTLP/HTTP endpoint: an http(s) URL (`collector:4318` would be taken as a URL of scheme `collector:`). */
const endpoint = z.url({ protocol: /^https?$/ }).optional();

export const tracingSettings = {
  /** The collector's OTLP/HTTP base URL (`/v1/traces` is appended): tracing is on when this or the next is set. */
  otlpEndpoint: setting('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint),
  /** The full URL of the collector's traces endpoint, taken as it is. */
  otlpTracesEndpoint: setting('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', endpoint),
  /** OpenTelemetry's own switch: `true` turns tracing off whatever the endpoints say. */
  sdkDisabled: setting('OTEL_SDK_DISABLED', z.stringbool().default(false)),
};

export type TracingSettings = SettingsOf<typeof tracingSettings>;

/** Whether the settings ask for traces: an endpoint is set and the SDK is not disabled. */
export function tracingRequested(settings: TracingSettings): boolean {
  return !settings.sdkDisabled && Boolean(settings.otlpEndpoint ?? settings.otlpTracesEndpoint);
}
