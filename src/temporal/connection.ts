import { loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';

/**
 * Where and how billflow reaches Temporal: Temporal's own environment configuration (the
 * `temporal.toml` profile the `temporal` CLI reads, overridden by `TEMPORAL_*` variables), so one
 * set of variables serves the CLI and billflow.
 */
export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  /** The profile read from the config file; absent, `default` (when the file has one). */
  profile?: string;
  /** Bearer token sent with every call (Temporal Cloud API key, or a JWT your authorizer checks). */
  apiKey?: string;
  /** TLS as the profile describes it (files are read when connecting); absent, plaintext unless an API key is set. */
  tls?: ClientConfigProfile['tls'];
  /** Extra gRPC headers (`TEMPORAL_GRPC_META_*`). */
  grpcMeta?: Record<string, string>;
}

/** The variables Temporal's environment configuration reads, besides `TEMPORAL_GRPC_META_*`. */
export const temporalConnectionVariables = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_CERT_DATA',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
] as const;

const DEFAULT_ADDRESS = 'localhost:7233';
const DEFAULT_NAMESPACE = 'default';

/**
 * Reads the connection the way the `temporal` CLI does: the profile (`TEMPORAL_PROFILE`, else
 * `default`) of the config file (`TEMPORAL_CONFIG_FILE`, else `~/.config/temporalio/temporal.toml`),
 * then the `TEMPORAL_*` variables over it. Throws an Error naming what is wrong, never a value.
 */
export function readTemporalConnectionSettings(environment: Readonly<Record<string, string | undefined>>): TemporalConnectionSettings {
  // An empty variable means "not set", as everywhere else in billflow's configuration.
  const variables = Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    const value = variables[name];
    if (value !== undefined && !['1', '0', 'true', 'false'].includes(value)) throw new Error(`${name}: must be true, false, 1 or 0`);
  }
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: variables });
  } catch (error) {
    // Not attached as the cause: a TOML parse error quotes the offending line, which may hold a key.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`${describeConfigFile(variables)}: ${safeReason(error)}`);
  }
  if (variables.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' || variables.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1') {
    throw new Error('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the TypeScript SDK always verifies the server; set TEMPORAL_TLS_SERVER_NAME to a name in its certificate instead');
  }
  const settings: TemporalConnectionSettings = {
    address: profile.address || DEFAULT_ADDRESS,
    namespace: profile.namespace || DEFAULT_NAMESPACE,
  };
  if (variables.TEMPORAL_PROFILE) settings.profile = variables.TEMPORAL_PROFILE;
  if (profile.apiKey) settings.apiKey = profile.apiKey;
  if (profile.tls) settings.tls = withoutUndefined(profile.tls);
  if (profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0) settings.grpcMeta = { ...profile.grpcMeta };
  return settings;
}

/** Connection options shared by the Client's `Connection` and the worker's `NativeConnection`. */
export type TemporalConnectionOptions = Pick<NativeConnectionOptions & ConnectionOptions, 'address' | 'tls' | 'apiKey' | 'metadata'>;

/**
 * The one place that turns billflow's Temporal settings into connection options, for the Client
 * (receiver, CLI, deliveries) and the worker alike. Reads the certificate files it names.
 */
export function temporalConnectionOptions(settings: TemporalConnectionSettings): TemporalConnectionOptions {
  let options: ReturnType<typeof toClientOptions>['connectionOptions'];
  try {
    options = toClientOptions({ address: settings.address, apiKey: settings.apiKey, tls: settings.tls, grpcMeta: settings.grpcMeta }).connectionOptions;
  } catch (error) {
    throw new Error(`Could not read the TLS files of the Temporal connection (TEMPORAL_TLS_*_PATH or the profile's tls paths): ${safeReason(error)}`, { cause: error });
  }
  const tls = options.tls;
  if (tls && typeof tls === 'object' && !tls.clientCertPair && (settings.tls?.clientCert || settings.tls?.clientKey)) {
    throw new Error('The Temporal connection names a client certificate or a client key but not both: set TEMPORAL_TLS_CLIENT_CERT_* and TEMPORAL_TLS_CLIENT_KEY_* together');
  }
  return {
    address: settings.address,
    ...(tls ? { tls } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
  };
}

/** How the connection is secured, for logs and error messages: never a secret. */
export function describeTemporalConnection(settings: TemporalConnectionSettings): string {
  const tlsOn = settings.tls ? settings.tls.disabled !== true : settings.apiKey !== undefined;
  const parts = [`${settings.address}, namespace ${settings.namespace}`];
  if (settings.profile) parts.push(`profile ${settings.profile}`);
  parts.push(tlsOn ? (settings.tls?.clientCert ? 'TLS with a client certificate' : 'TLS') : 'plaintext');
  if (settings.apiKey) parts.push('API key');
  return parts.join(', ');
}

/**
 * A connection failure in words an operator can act on: what was tried (never a secret) and the
 * likely cause for the errors a misconfigured TLS or API key produces.
 */
export class TemporalConnectionError extends Error {
  constructor(settings: TemporalConnectionSettings, cause: unknown) {
    super(`Could not connect to Temporal (${describeTemporalConnection(settings)}): ${safeReason(cause)}${hint(settings, cause)}`, { cause });
    this.name = 'TemporalConnectionError';
  }
}

function hint(settings: TemporalConnectionSettings, cause: unknown): string {
  const text = safeReason(cause).toLowerCase();
  const code = (cause as { code?: unknown }).code;
  // gRPC 16 UNAUTHENTICATED, 7 PERMISSION_DENIED.
  if (code === 16 || code === 7 || /unauthenticated|permission ?denied|unauthorized|invalid token|jwt/.test(text)) {
    return settings.apiKey
      ? '. The server refused the API key (TEMPORAL_API_KEY): check that it is valid, not expired, and grants this namespace.'
      : '. The server asks for credentials: set TEMPORAL_API_KEY, or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH).';
  }
  // A TLS 1.3 server refusing a missing client certificate may do so after the client saw the
  // handshake through: the connection is then cut short (hyper's Canceled: "connection was not
  // ready", "connection closed").
  if (/certificate|handshake|tls|ssl|alert|eof|connection reset|broken pipe|hyper::error\(canceled/.test(text)) {
    const tlsOn = settings.tls ? settings.tls.disabled !== true : settings.apiKey !== undefined;
    if (!tlsOn) return '. The server may expect TLS: set TEMPORAL_TLS=true (and TEMPORAL_TLS_SERVER_CA_CERT_PATH for a private CA).';
    if (!settings.tls?.clientCert) {
      return '. The TLS handshake failed: if the server requires client certificates (mTLS), set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH; if its certificate comes from a private CA, set TEMPORAL_TLS_SERVER_CA_CERT_PATH.';
    }
    return '. The TLS handshake failed: check that the server trusts the client certificate, and that TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME match its certificate.';
  }
  return '';
}

function describeConfigFile(variables: Record<string, string>): string {
  if (variables.TEMPORAL_CONFIG_FILE) return `TEMPORAL_CONFIG_FILE (${variables.TEMPORAL_CONFIG_FILE})`;
  return 'the Temporal config file (temporal.toml)';
}

/**
 * An error's message without anything that could be a secret: TOML parse errors quote the
 * offending line, which may hold an API key.
 */
function safeReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TomlError' || /toml/i.test(error.constructor.name)) {
    const line = (error as { line?: unknown }).line;
    return `not valid TOML${typeof line === 'number' ? ` (line ${line})` : ''}`;
  }
  return error.message;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, child]) => child !== undefined)) as T;
}
