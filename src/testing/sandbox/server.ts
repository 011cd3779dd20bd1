import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { controlRoutes } from './control';
import { Faults, type Fault } from './faults';
import { BillForwardSandbox } from '../../providers/billforward/testing/sandbox';
import { CCBillSandbox, DATALINK_PATH, type CCBillCredentials } from '../../providers/ccbill/testing/sandbox';
import { GoCardlessSandbox, type MandateSeed, type PaymentSeed, type SandboxMandate, type SandboxPayment } from '../../providers/gocardless/testing/sandbox';
import { RecurlySandbox } from '../../providers/recurly/testing/sandbox';
import { RequestLog, type RecordedRequest } from './request-log';
import { StripeSandbox } from '../../providers/stripe/testing/sandbox';

export interface SandboxOptions {
  /** 0 (any free port) when absent. */
  port?: number;
  /** 127.0.0.1 when absent. */
  host?: string;
  /** The credential every provider API accepts (token, API key, DataLink password); random when absent. */
  accessToken?: string;
}

export interface SandboxState {
  gocardless: GoCardlessSandbox;
  recurly: RecurlySandbox;
  stripe: StripeSandbox;
  billforward: BillForwardSandbox;
  ccbill: CCBillSandbox;
  faults: Faults;
  log: RequestLog;
}

export interface ProviderSandbox {
  url: string;
  /** Pass as the GoCardless API URL: the client appends `/mandates/…` to it. */
  gocardlessUrl: string;
  /** Pass as RECURLY_API_URL. */
  recurlyUrl: string;
  /** Pass as STRIPE_API_URL: the server's root, since the stripe SDK requests `/v1/…` there (also served under `/stripe`). */
  stripeUrl: string;
  /** Pass as BILLFORWARD_API_URL. */
  billforwardUrl: string;
  /** Pass as CCBILL_DATALINK_URL: the whole script URL, like DataLink's. */
  ccbillUrl: string;
  /** GoCardless and BillForward token, Recurly and Stripe API key. */
  accessToken: string;
  /** DataLink's credentials; the password is `accessToken`. */
  ccbill: CCBillCredentials;
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
 * state, for development without credentials and for tests that talk real HTTP.
 */
export async function startProviderSandbox(options: SandboxOptions = {}): Promise<ProviderSandbox> {
  const accessToken = options.accessToken ?? `sandbox_${randomBytes(16).toString('hex')}`;
  const ccbill: CCBillCredentials = { clientAccnum: '900000', clientSubacc: '0000', username: 'billflow-sandbox', password: accessToken };
  const state: SandboxState = {
    gocardless: new GoCardlessSandbox(),
    recurly: new RecurlySandbox(),
    stripe: new StripeSandbox(),
    billforward: new BillForwardSandbox(),
    ccbill: new CCBillSandbox(),
    faults: new Faults(),
    log: new RequestLog(),
  };
  const providers = [state.gocardless, state.recurly, state.stripe, state.billforward, state.ccbill];
  const reset = () => {
    for (const provider of providers) provider.reset();
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
  app.use(state.gocardless.api({ accessToken, faults, log }).routes());
  app.use(state.recurly.api({ apiKey: accessToken, faults, log }).routes());
  app.use(state.stripe.api({ apiKey: accessToken, faults, log }).routes());
  app.use(state.billforward.api({ accessToken, faults, log }).routes());
  app.use(state.ccbill.api({ credentials: ccbill, faults, log }).routes());
  app.use(controlRoutes({ providers, faults, log, reset }).routes());

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

  return {
    url,
    gocardlessUrl: `${url}/gocardless`,
    recurlyUrl: `${url}/recurly`,
    stripeUrl: url,
    billforwardUrl: `${url}/billforward`,
    ccbillUrl: `${url}/ccbill${DATALINK_PATH}`,
    accessToken,
    ccbill,
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
  sandbox: Pick<ProviderSandbox, 'gocardlessUrl' | 'recurlyUrl' | 'stripeUrl' | 'billforwardUrl' | 'ccbillUrl' | 'accessToken' | 'ccbill'>,
  environment: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const unset = (name: string) => !environment[name];
  const settings: Record<string, string> = {};
  if (unset('GOCARDLESS_ACCESS_TOKEN')) Object.assign(settings, { GOCARDLESS_API_URL: sandbox.gocardlessUrl, GOCARDLESS_ACCESS_TOKEN: sandbox.accessToken });
  if (unset('RECURLY_API_KEY')) Object.assign(settings, { RECURLY_API_URL: sandbox.recurlyUrl, RECURLY_API_KEY: sandbox.accessToken });
  if (unset('STRIPE_API_KEY')) Object.assign(settings, { STRIPE_API_URL: sandbox.stripeUrl, STRIPE_API_KEY: sandbox.accessToken });
  if (unset('BILLFORWARD_ACCESS_TOKEN')) Object.assign(settings, { BILLFORWARD_API_URL: sandbox.billforwardUrl, BILLFORWARD_ACCESS_TOKEN: sandbox.accessToken });
  if (unset('CCBILL_DATALINK_USERNAME') && unset('CCBILL_DATALINK_PASSWORD')) {
    Object.assign(settings, {
      CCBILL_DATALINK_URL: sandbox.ccbillUrl,
      CCBILL_DATALINK_USERNAME: sandbox.ccbill.username,
      CCBILL_DATALINK_PASSWORD: sandbox.ccbill.password,
      CCBILL_CLIENT_ACCNUM: sandbox.ccbill.clientAccnum,
      CCBILL_CLIENT_SUBACC: sandbox.ccbill.clientSubacc,
    });
  }
  return settings;
}
