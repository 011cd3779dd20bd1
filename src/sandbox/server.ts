import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { controlRoutes } from './control';
import { Faults, type Fault } from './faults';
import { GoCardlessSandbox, type MandateSeed, type PaymentSeed, type SandboxMandate, type SandboxPayment } from './gocardless';
import { RequestLog, type RecordedRequest } from './request-log';

export interface SandboxOptions {
  /** 0 (any free port) when absent. */
  port?: number;
  /** 127.0.0.1 when absent. */
  host?: string;
  /** The bearer token the provider APIs accept; a random one when absent. */
  accessToken?: string;
}

export interface SandboxState {
  gocardless: GoCardlessSandbox;
  faults: Faults;
  log: RequestLog;
}

export interface ProviderSandbox {
  url: string;
  /** Pass as the GoCardless API URL: the client appends `/mandates/…` to it. */
  gocardlessUrl: string;
  accessToken: string;
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
  const state: SandboxState = { gocardless: new GoCardlessSandbox(), faults: new Faults(), log: new RequestLog() };
  const reset = () => {
    state.gocardless.reset();
    state.faults.reset();
    state.log.clear();
  };

  const app = new Koa();
  app.silent = true;
  app.use(state.gocardless.api({ accessToken, faults: state.faults, log: state.log }).routes());
  app.use(controlRoutes({ ...state, reset }).routes());

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
    accessToken,
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
