import { z } from 'zod';
import type { ProviderName } from './core/events';
import { parseBasicCredentialList, type BasicCredentials } from './providers/basic-auth';
import { ccbillWebhookIps } from './providers/ccbill/webhook';
import { parseIpAllowList } from './providers/ip-allow-list';
import { recurlyWebhookIps } from './providers/recurly/webhook';
import { toWorkflowSettings, workflowSettingsEnvironment, type WorkflowSettings } from './workflow-settings';

/** Comma-separated values; several are accepted at once so a secret can be rotated without downtime. */
const secretList = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((part) => part.trim()).filter(Boolean));

/** `user:password[,user:password…]`; several for rotation. Errors never repeat the value. */
const credentialList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    try {
      return parseBasicCredentialList(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** Comma-separated IPs and CIDR ranges; unset means the provider's published list. */
const ipList = (published: readonly string[]) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const entries = value === undefined ? [...published] : value.split(',').map((part) => part.trim()).filter(Boolean);
      try {
        parseIpAllowList(entries);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
      return entries;
    });

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

const providerNameValues = ['gocardless', 'recurly', 'stripe', 'ccbill', 'billforward'] as const satisfies readonly ProviderName[];

const providerList = z
  .string()
  .optional()
  .transform((value) => (value ?? '').split(',').map((part) => part.trim().toLowerCase()).filter(Boolean))
  .pipe(z.array(z.enum(providerNameValues)));

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('billflow'),
  TEMPORAL_CLI: z.string().optional(),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  BILLFLOW_DATA_DIR: z.string().default('.billflow'),
  DATABASE_URL: z.string().url().optional(),
  WEBHOOK_BODY_LIMIT: z.coerce.number().int().positive().default(1024 * 1024),
  SIGNAL_DEADLINE_MS: z.coerce.number().int().positive().default(4000),
  RETRY_AFTER_SECONDS: z.coerce.number().int().positive().default(30),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(25_000),
  GOCARDLESS_WEBHOOK_SECRET: secretList,
  GOCARDLESS_ACCESS_TOKEN: z.string().optional(),
  GOCARDLESS_API_URL: z.string().url().default('https://api-sandbox.gocardless.com'),
  RECURLY_API_KEY: z.string().optional(),
  RECURLY_API_URL: z.string().url().default('https://v3.recurly.com'),
  STRIPE_API_KEY: z.string().optional(),
  STRIPE_API_URL: z
    .string()
    .url()
    .default('https://api.stripe.com')
    .refine((value) => ['', '/'].includes(new URL(value).pathname), 'must be an origin without a path: the stripe SDK requests /v1/… at its root'),
  BILLFORWARD_ACCESS_TOKEN: z.string().optional(),
  BILLFORWARD_API_URL: z.string().url().default('https://api-sandbox.billforward.net/v1'),
  CCBILL_DATALINK_URL: z.string().url().default('https://datalink.ccbill.com/utils/subscriptionManagement.cgi'),
  CCBILL_DATALINK_USERNAME: z.string().optional(),
  CCBILL_DATALINK_PASSWORD: z.string().optional(),
  CCBILL_CLIENT_ACCNUM: z.string().regex(/^\d{6}$/, 'must be the 6-digit main account number').optional(),
  CCBILL_CLIENT_SUBACC: z.string().regex(/^\d{4}$/, 'must be the 4-digit sub-account number').optional(),
  BILLFLOW_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  BILLFLOW_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  WORKER_WORKFLOW_TASK_SLOTS: z.coerce.number().int().min(2).default(200),
  WORKER_WORKFLOW_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: proxyHops,
  BILLFLOW_INSECURE_ALLOW_UNVERIFIED: providerList,
  RECURLY_WEBHOOK_SECRET: secretList,
  RECURLY_WEBHOOK_BASIC_AUTH: credentialList,
  RECURLY_ALLOWED_IPS: ipList(recurlyWebhookIps),
  RECURLY_SIGNATURE_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  STRIPE_WEBHOOK_SECRET: secretList,
  STRIPE_SIGNATURE_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
  CCBILL_ALLOWED_IPS: ipList(ccbillWebhookIps),
  BILLFORWARD_WEBHOOK_BASIC_AUTH: credentialList,
  ...workflowSettingsEnvironment,
});

export interface Config {
  port: number;
  host: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    cliPath?: string;
    uiPort: number;
  };
  dataDir: string;
  databaseUrl?: string;
  receiver: {
    bodyLimitBytes: number;
    /** Time allowed for all signals of one delivery; well under the providers' 5–10 s timeouts. */
    signalDeadlineMs: number;
    retryAfterSeconds: number;
    /** How long SIGTERM waits for webhooks in flight before exiting: under Kubernetes' default 30 s grace period. */
    shutdownTimeoutMs: number;
    /** Proxies trusted to append the client address to X-Forwarded-For; 0: the socket address is the client. */
    trustProxyHops: number;
  };
  /** Providers whose webhooks are accepted without verification (local development only). */
  insecureAllowUnverified: ProviderName[];
  recurly: {
    /** Private API key for the activities; unset, their Recurly calls fail (non-retryable). */
    apiKey?: string;
    apiUrl: string;
    webhookSecrets: string[];
    signatureToleranceSeconds: number;
    basicAuth: BasicCredentials[];
    allowedIps: string[];
  };
  stripe: {
    apiKey?: string;
    /** An origin: the stripe SDK takes host, port and protocol only. */
    apiUrl: string;
    webhookSecrets: string[];
    signatureToleranceSeconds: number;
  };
  ccbill: {
    datalinkUrl: string;
    datalinkUsername?: string;
    datalinkPassword?: string;
    clientAccnum?: string;
    clientSubacc?: string;
    allowedIps: string[];
  };
  billforward: {
    accessToken?: string;
    apiUrl: string;
    basicAuth: BasicCredentials[];
  };
  gocardless: {
    webhookSecrets: string[];
    accessToken?: string;
    apiUrl: string;
  };
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  /** Bearer token guarding `GET /accounts/…`; unset, that route answers 503 (fails closed). */
  apiToken?: string;
  /** Bearer token `GET /metrics` asks for when set; unset, the metrics are open (restrict them at the proxy). */
  metricsToken?: string;
  /** Port of the provider sandbox `dev` starts when no provider credentials are set. */
  sandboxPort: number;
  /**
   * Port of the worker's Prometheus endpoint (Temporal SDK metrics); 0 turns it off. Unset, the
   * `worker` and `dev` commands use 9464 and everything else (tests) none.
   */
  workerMetricsPort?: number;
  /** Workflow tasks the worker runs at once, and the threads running workflow code (worker.ts says why). */
  workerTuning: { workflowTaskSlots: number; workflowThreads: number };
  /** Dunning schedule and the rest of billflow's workflows' settings (src/workflow-settings.ts). */
  workflows: WorkflowSettings;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable means "not set", as operators expect from `FOO= npm run dev`.
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const env = parsed.data;
  return {
    port: env.PORT,
    host: env.HOST,
    temporal: {
      address: env.TEMPORAL_ADDRESS,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.TEMPORAL_TASK_QUEUE,
      cliPath: env.TEMPORAL_CLI,
      uiPort: env.TEMPORAL_UI_PORT,
    },
    dataDir: env.BILLFLOW_DATA_DIR,
    databaseUrl: env.DATABASE_URL,
    receiver: {
      bodyLimitBytes: env.WEBHOOK_BODY_LIMIT,
      signalDeadlineMs: env.SIGNAL_DEADLINE_MS,
      retryAfterSeconds: env.RETRY_AFTER_SECONDS,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
      trustProxyHops: env.TRUST_PROXY,
    },
    insecureAllowUnverified: [...new Set(env.BILLFLOW_INSECURE_ALLOW_UNVERIFIED)],
    recurly: {
      apiKey: env.RECURLY_API_KEY,
      apiUrl: env.RECURLY_API_URL,
      webhookSecrets: env.RECURLY_WEBHOOK_SECRET,
      signatureToleranceSeconds: env.RECURLY_SIGNATURE_TOLERANCE_SECONDS,
      basicAuth: env.RECURLY_WEBHOOK_BASIC_AUTH,
      allowedIps: env.RECURLY_ALLOWED_IPS,
    },
    stripe: {
      apiKey: env.STRIPE_API_KEY,
      apiUrl: env.STRIPE_API_URL,
      webhookSecrets: env.STRIPE_WEBHOOK_SECRET,
      signatureToleranceSeconds: env.STRIPE_SIGNATURE_TOLERANCE_SECONDS,
    },
    ccbill: {
      datalinkUrl: env.CCBILL_DATALINK_URL,
      datalinkUsername: env.CCBILL_DATALINK_USERNAME,
      datalinkPassword: env.CCBILL_DATALINK_PASSWORD,
      clientAccnum: env.CCBILL_CLIENT_ACCNUM,
      clientSubacc: env.CCBILL_CLIENT_SUBACC,
      allowedIps: env.CCBILL_ALLOWED_IPS,
    },
    billforward: {
      accessToken: env.BILLFORWARD_ACCESS_TOKEN,
      apiUrl: env.BILLFORWARD_API_URL,
      basicAuth: env.BILLFORWARD_WEBHOOK_BASIC_AUTH,
    },
    gocardless: {
      webhookSecrets: env.GOCARDLESS_WEBHOOK_SECRET,
      accessToken: env.GOCARDLESS_ACCESS_TOKEN,
      apiUrl: env.GOCARDLESS_API_URL,
    },
    logLevel: env.LOG_LEVEL,
    apiToken: env.BILLFLOW_API_TOKEN,
    metricsToken: env.BILLFLOW_METRICS_TOKEN,
    sandboxPort: env.SANDBOX_PORT,
    workerMetricsPort: env.WORKER_METRICS_PORT,
    workerTuning: { workflowTaskSlots: env.WORKER_WORKFLOW_TASK_SLOTS, workflowThreads: env.WORKER_WORKFLOW_THREADS },
    workflows: toWorkflowSettings(env),
  };
}
