import { z } from 'zod';
import type { ProviderName } from './core/events';
import { providerNames, providerSettingsTrees, type ProviderSettings } from './providers/registry';
import { ConfigError, readSettings, setting, settingVariables, type SettingsOf } from './settings';
import { readTemporalConnectionSettings, temporalConnectionVariables, type TemporalConnectionSettings } from './temporal/connection';
import { catchUpSettings } from './catch-up/settings';
import { tracingSettings } from './tracing/settings';
import { workflowSettings, type WorkflowSettings } from './workflow-settings';

export { ConfigError } from './settings';

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const bearerToken = z.string().min(16, 'must be at least 16 characters').optional();

/** How many proxies in front of the receiver append to X-Forwarded-For: `false` (0), `true` (1) or a number. */
const proxyHops = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const text = (value ?? 'false').trim().toLowerCase();
    if (text === 'false') return 0;
    if (text === 'true') return 1;
    if (/^\d{1,2}$/.test(text)) return Number(text);
    ctx.addIssue({ code: 'custom', message: 'must be false, true or the number of trusted proxies' });
    return z.NEVER;
  });

const providerList = z
  .string()
  .optional()
  .transform((value) => [...new Set((value ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean))])
  .pipe(z.array(z.enum(providerNames as [ProviderName, ...ProviderName[]])));

/**
 * Every setting billflow reads, each declared once: its place in the loaded config, its variable,
 * what it accepts and its default. Provider settings are declared in their provider's folder.
 */
const settings = {
  port: setting('PORT', port(3000)),
  host: setting('HOST', z.string().default('0.0.0.0')),
  /**
   * Besides these, the connection itself (address, namespace, TLS, API key, profile) comes from
   * Temporal's environment configuration: src/temporal/connection.ts.
   */
  temporal: {
    taskQueue: setting('TEMPORAL_TASK_QUEUE', z.string().min(1).default('billflow')),
    cliPath: setting('TEMPORAL_CLI', z.string().optional()),
    uiPort: setting('TEMPORAL_UI_PORT', z.coerce.number().int().min(1).max(65535).default(8233)),
  },
  dataDir: setting('BILLFLOW_DATA_DIR', z.string().default('.billflow')),
  databaseUrl: setting('DATABASE_URL', z.string().url().optional()),
  receiver: {
    bodyLimitBytes: setting('WEBHOOK_BODY_LIMIT', positiveInt(1024 * 1024)),
    /** Time allowed for all signals of one delivery; well under the providers' 5–10 s timeouts. */
    signalDeadlineMs: setting('SIGNAL_DEADLINE_MS', positiveInt(4000)),
    retryAfterSeconds: setting('RETRY_AFTER_SECONDS', positiveInt(30)),
    /**
     * Time a client has to send a whole request, headers and body: providers send a webhook in
     * milliseconds, and a slower one would be cut by the provider's own timeout (5–10 s) anyway.
     */
    receiveTimeoutMs: setting('WEBHOOK_RECEIVE_TIMEOUT_MS', positiveInt(3000)),
    /** How long SIGTERM waits for webhooks in flight before exiting: under Kubernetes' default 30 s grace period. */
    shutdownTimeoutMs: setting('SHUTDOWN_TIMEOUT_MS', positiveInt(25_000)),
    /** Proxies trusted to append the client address to X-Forwarded-For; 0: the socket address is the client. */
    trustProxyHops: setting('TRUST_PROXY', proxyHops),
  },
  /** What is kept of deliveries billflow verified but could not act on, and of those that did not verify. */
  deadLetters: {
    /** Days a dead letter is kept after it was last seen. */
    retentionDays: setting('BILLFLOW_DEAD_LETTER_RETENTION_DAYS', positiveInt(30)),
    /** Latest deliveries kept that failed verification (reason, size, body hash, headers without secrets). */
    verificationFailuresKept: setting('BILLFLOW_VERIFICATION_FAILURES_KEPT', positiveInt(1000)),
  },
  /** Providers whose webhooks are accepted without verification (local development only). */
  insecureAllowUnverified: setting('BILLFLOW_INSECURE_ALLOW_UNVERIFIED', providerList),
  logLevel: setting('LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  /** Bearer token guarding `GET /accounts/…` and `/deliveries`; unset, those routes answer 503 (fail closed). */
  apiToken: setting('BILLFLOW_API_TOKEN', bearerToken),
  /** Bearer token `GET /metrics` asks for when set; unset, the metrics are open (restrict them at the proxy). */
  metricsToken: setting('BILLFLOW_METRICS_TOKEN', bearerToken),
  /** Port of the provider sandbox `dev` starts when no provider credentials are set. */
  sandboxPort: setting('SANDBOX_PORT', port(3001)),
  /**
   * Port of the worker's Prometheus endpoint (Temporal SDK metrics); 0 turns it off. Unset, the
   * `worker` and `dev` commands use 9464 and everything else (tests) none.
   */
  workerMetricsPort: setting('WORKER_METRICS_PORT', z.coerce.number().int().min(0).max(65535).optional()),
  /** Workflow tasks the worker runs at once, and the threads running workflow code (src/temporal/worker.ts says why). */
  workerTuning: {
    workflowTaskSlots: setting('WORKER_WORKFLOW_TASK_SLOTS', z.coerce.number().int().min(2).default(200)),
    workflowThreads: setting('WORKER_WORKFLOW_THREADS', z.coerce.number().int().min(1).max(64).default(2)),
  },
  /** Dunning schedule and the rest of billflow's workflows' settings (src/workflow-settings.ts). */
  workflows: workflowSettings,
  /** Catch-up from the providers' event lists (src/catch-up/settings.ts). */
  catchUp: catchUpSettings,
  /** OpenTelemetry tracing, on when an OTLP endpoint is set (src/tracing/settings.ts). */
  tracing: tracingSettings,
  ...providerSettingsTrees,
};

type DeclaredSettings = SettingsOf<Omit<typeof settings, 'workflows' | 'temporal' | ProviderName>>;
type TemporalSettings = SettingsOf<(typeof settings)['temporal']> & TemporalConnectionSettings;

export type Config = Readonly<DeclaredSettings & { temporal: TemporalSettings; workflows: WorkflowSettings } & ProviderSettings>;

/** Reads and checks every setting; throws one ConfigError naming each bad variable, never its value. */
export function loadConfig(environment: Readonly<Record<string, string | undefined>> = process.env): Config {
  const problems: string[] = [];
  let declared: SettingsOf<typeof settings> | undefined;
  let connection: TemporalConnectionSettings | undefined;
  try {
    declared = readSettings(settings, environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  try {
    connection = readTemporalConnectionSettings(environment);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  if (!declared || !connection || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze({ ...declared, temporal: { ...declared.temporal, ...connection } }) as Config;
}

/** Every environment variable billflow reads (and `TEMPORAL_GRPC_META_*`, extra gRPC headers). */
export function configVariables(): string[] {
  return [...settingVariables(settings), ...temporalConnectionVariables];
}

/**
 * A loaded config never changes: whoever needs other values loads or builds another. Bytes (the
 * certificates of `TEMPORAL_TLS_*_DATA`) are left as they are: a typed array cannot be frozen.
 */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
