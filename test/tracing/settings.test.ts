import { trace, ProxyTracerProvider } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { tracingRequested } from '../../src/tracing/settings';
import { startTracing } from '../../src/tracing/start';

describe('whether billflow traces', () => {
  const tracing = (environment: Record<string, string>) => loadConfig(environment).tracing;

  it('is off unless an OTLP endpoint is set', () => {
    expect(tracingRequested(tracing({}))).toBe(false);
    expect(tracingRequested(tracing({ OTEL_SERVICE_NAME: 'billing', OTEL_TRACES_SAMPLER: 'always_on' }))).toBe(false);
    expect(tracingRequested(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }))).toBe(true);
    expect(tracingRequested(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }))).toBe(true);
  });

  it('stays off with OTEL_SDK_DISABLED, whatever the endpoint', () => {
    expect(tracingRequested(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }))).toBe(false);
  });

  it('refuses an endpoint that is not a URL, naming the variable', () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('starts nothing when off: no tracer provider behind the global API', async () => {
    expect(await startTracing(tracing({}), { serviceName: 'billflow-test' })).toBeUndefined();
    expect((trace.getTracerProvider() as ProxyTracerProvider).getDelegate().constructor.name).toBe('NoopTracerProvider');
  });
});
