/**
 * BATON_METRICS=1: `GET /metrics` in Prometheus' text format, from
 * `baton-auth/otel` on an OpenTelemetry MeterProvider whose reader is the
 * Prometheus exporter (with its own server off: the demo's route serves it).
 *
 * The OpenTelemetry packages are not dependencies of baton-auth: the demo
 * runs from an app's node_modules (`baton serve`), where a devDependency of
 * Baton is not installed. So they are loaded only when BATON_METRICS=1, and
 * one that is missing stops the demo at startup with the command that
 * installs them (a configuration error, exit code 2).
 */
import type { AnyAuthManager } from 'baton-auth';
import { DemoConfigError } from './config.ts';
import type { DemoMetrics } from './routes.ts';
import type { DemoUser } from './users.ts';

/** What BATON_METRICS=1 needs, at the versions Baton is tested with (they run on Node 20). */
export const METRICS_INSTALL =
  'npm install @opentelemetry/api@1.9 @opentelemetry/sdk-metrics@2.12.0 @opentelemetry/exporter-prometheus@0.223.0';

/** The package a missing module belongs to (`@opentelemetry/api/x` -> `@opentelemetry/api`). */
function missingPackage(error: unknown): string | undefined {
  const code = (error as { code?: string }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const message = error instanceof Error ? error.message : String(error);
  const name = /Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  if (name === undefined) return undefined;
  const parts = name.split('/');
  return name.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Instruments the manager and answers what `GET /metrics` serves. */
export async function startMetrics(manager: AnyAuthManager<DemoUser>): Promise<DemoMetrics> {
  let loaded: [
    typeof import('@opentelemetry/sdk-metrics'),
    typeof import('@opentelemetry/exporter-prometheus'),
    typeof import('baton-auth/otel'),
  ];
  try {
    loaded = await Promise.all([
      import('@opentelemetry/sdk-metrics'),
      import('@opentelemetry/exporter-prometheus'),
      // It needs @opentelemetry/api, Baton's optional peer dependency.
      import('baton-auth/otel'),
    ]);
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    throw new DemoConfigError(
      `BATON_METRICS=1 needs ${missing}, which baton-auth does not install: ${METRICS_INSTALL}`,
    );
  }
  const [{ MeterProvider }, { PrometheusExporter, PrometheusSerializer }, { instrument }] = loaded;
  const reader = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const instrumentation = instrument(manager, { meterProvider });
  const serializer = new PrometheusSerializer();
  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    async scrape() {
      const { resourceMetrics } = await reader.collect();
      return serializer.serialize(resourceMetrics);
    },
    async close() {
      instrumentation.stop();
      await meterProvider.shutdown();
    },
  };
}
