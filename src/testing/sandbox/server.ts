import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import type { ProviderName } from '../../core/events';
import type { MandateSeed, PaymentSeed, SandboxMandate, SandboxPayment } from '../../providers/gocardless/testing/sandbox';
import type { SandboxContext } from '../provider-testing';
import { providerTesting, testingHalves } from '../providers';
import { controlRoutes } from './control';
import { Faults, type Fault } from './faults';
import { RequestLog, type RecordedRequest } from './request-log';

export interface SandboxOptions {
  /** 0 (any free port) when absent. */
  port?: number;
  /** 127.0.0.1 when absent. */
  host?: string;
  /** The credential every provider API accepts (token, API key, DataLink password); random when absent. */
  accessToken?: string;
}

/** Each provider's part of the sandbox, as its testing half makes it. */
export type SandboxOf<Name extends ProviderName> = ReturnType<(typeof providerTesting)[Name]['sandbox']['create']>;

export type SandboxState = { [Name in ProviderName]: SandboxOf<Name> } & { faults: Faults; log: RequestLog };

export interface ProviderSandbox {
  url: string;
  /** The credential every provider API of the sandbox accepts: token, API key, DataLink password. */
  accessToken: string;
  /** Per provider, the base URL its API client is pointed at (the stripe SDK's is the server's root). */
  urls: Record<ProviderName, string>;
  /**
   * Per provider, the variables that point its API client at this sandbox, as `loadConfig` reads
   * them (e.g. `GOCARDLESS_API_URL` and `GOCARDLESS_ACCESS_TOKEN`).
   */
  settings: Record<ProviderName, Record<string, string>>;
  /** The providers `environment` gives no API credentials of their own. */
  providersWithoutApiCredentials(environment: Readonly<Record<string, string | undefined>>): ProviderName[];
  state: SandboxState;
  /** Every request the provider APIs received, oldest first. */
  readonly requests: readonly RecordedRequest[];
  seedMandate(seed: MandateSeed): SandboxMandate;
  seedPayment(seed: PaymentSeed): SandboxPayment;
  failNext(fault: Fault): void;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A local HTTP server standing in for the billing providers' APIs, with believable in-memory
 * state, for development without credentials and for tests that talk real HTTP. Each provider's
 * part comes from its testing half (`src/providers/<name>/testing/`).
 */
export async function startProviderSandbox(options: SandboxOptions = {}): Promise<ProviderSandbox> {
  const accessToken = options.accessToken ?? `sandbox_${randomBytes(16).toString('hex')}`;
  const parts = testingHalves.map(([name, testing]) => ({ name, testing, sandbox: testing.sandbox.create({ accessToken }) }));
  const state = {
    ...Object.fromEntries(parts.map(({ name, sandbox }) => [name, sandbox])),
    faults: new Faults(),
    log: new RequestLog(),
  } as SandboxState;
  const reset = () => {
    for (const { sandbox } of parts) sandbox.reset();
    state.faults.reset();
    state.log.clear();
  };

  const app = new Koa();
  app.silent = true;
  // Stripe's SDK takes a host, never a path: its `/v1/…` requests at the root are Stripe's.
  app.use((ctx, next) => {
    if (ctx.path.startsWith('/v1/')) ctx.path = `/stripe${ctx.path}`;
    return next();
  });
  const { faults, log } = state;
  for (const { sandbox } of parts) app.use(sandbox.api({ faults, log }).routes());
  app.use(controlRoutes({ providers: parts.map(({ sandbox }) => sandbox), faults, log, reset }).routes());

  const handle = app.callback();
  // Koa's handler settles its own promise: it answers errors itself.
  const server = createServer((request, response) => void handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;

  const urls = Object.fromEntries(parts.map(({ name, testing }) => [name, `${url}${testing.sandbox.apiPath}`])) as Record<ProviderName, string>;
  // Each part's settings, typed by its own testing half.
  type Settings = (sandbox: unknown, context: SandboxContext & { apiUrl: string }) => Record<string, string>;
  const settingsOf = ({ name, testing, sandbox }: (typeof parts)[number]) => (testing.sandbox.settings as Settings)(sandbox, { accessToken, apiUrl: urls[name] });
  return {
    url,
    accessToken,
    urls,
    settings: Object.fromEntries(parts.map((part) => [part.name, settingsOf(part)])) as Record<ProviderName, Record<string, string>>,
    providersWithoutApiCredentials: (environment) => parts.filter(({ testing }) => !testing.hasApiCredentials(environment)).map(({ name }) => name),
    state,
    get requests() {
      return state.log.entries;
    },
    seedMandate: (seed) => state.gocardless.seedMandate(seed),
    seedPayment: (seed) => state.gocardless.seedPayment(seed),
    failNext: (fault) => state.faults.failNext(fault),
    reset,
    async close() {
      state.faults.reset();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/**
 * Environment variables that point every provider whose credentials `environment` leaves unset at
 * the sandbox, as `loadConfig` reads them; providers with credentials are left alone. Apply with
 * `loadConfig({ ...process.env, ...sandboxProviderSettings(sandbox) })`.
 */
export function sandboxProviderSettings(
  sandbox: Pick<ProviderSandbox, 'settings' | 'providersWithoutApiCredentials'>,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  return Object.assign({}, ...sandbox.providersWithoutApiCredentials(environment).map((name) => sandbox.settings[name])) as Record<string, string>;
}

