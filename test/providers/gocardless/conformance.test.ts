import { Environments, GoCardlessClient } from 'gocardless-nodejs';
import { IdempotentCreationConflictError, InvalidApiUsageError, InvalidStateError, ValidationFailedError } from 'gocardless-nodejs/errors';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGoCardlessActivities } from '../../../src/providers/gocardless/api';
import type { GoCardlessSandbox } from '../../../src/providers/gocardless/testing/sandbox';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { plainAgentTo, startCapturingProxy, type CapturedRequest, type CapturingProxy } from '../support/capture';

/*
 * Each call billflow's GoCardless client makes, made also by the official client (gocardless-nodejs)
 * and both captured at the HTTP layer: billflow must send what the SDK sends (method, path, the
 * required headers, the body). The SDK reaches only GoCardless's own hosts over TLS, so it is given
 * an agent that opens plain TCP to a capturing proxy instead; the proxy forwards both to the
 * sandbox, which so is shown to accept what the SDK sends, and to refuse the variants GoCardless
 * refuses (no GoCardless-Version, a wrong token).
 */

type Billflow = ReturnType<typeof createGoCardlessActivities>;

interface Operation {
  name: string;
  sdk(client: GoCardlessClient): Promise<unknown>;
  billflow(client: Billflow): Promise<unknown>;
}

const key = 'gocardless:mandate:MD000C0NF0RM/charge-1';
const creation = { amount: 2500, currency: 'GBP', description: 'Conformance' } as const;
const operations: Operation[] = [
  { name: 'read a mandate', sdk: (sdk) => sdk.mandates.find('MD000C0NF0RM'), billflow: (client) => client.getGoCardlessMandate('MD000C0NF0RM') },
  {
    name: 'cancel a mandate',
    sdk: (sdk) => sdk.mandates.cancel('MD000C0NF0RM'),
    billflow: (client) => client.cancelGoCardlessMandate({ mandateId: 'MD000C0NF0RM', idempotencyKey: key }),
  },
  { name: 'read a payment', sdk: (sdk) => sdk.payments.find('PM000C0NF0RM'), billflow: (client) => client.getGoCardlessPayment('PM000C0NF0RM') },
  {
    name: 'retry a payment',
    sdk: (sdk) => sdk.payments.retry('PM000C0NF0RM'),
    billflow: (client) => client.retryGoCardlessPayment({ paymentId: 'PM000C0NF0RM', idempotencyKey: key }),
  },
  {
    name: 'create a payment',
    sdk: (sdk) => sdk.payments.create({ ...creation, links: { mandate: 'MD000C0NF0RM' } }, key),
    billflow: (client) => client.createGoCardlessPayment({ ...creation, mandateId: 'MD000C0NF0RM', idempotencyKey: key }),
  },
  {
    name: "list a subscription's payments",
    sdk: (sdk) => sdk.payments.list({ subscription: 'SB000C0NF0RM', sort_field: 'charge_date' as never, sort_direction: 'desc' as never, limit: 20 }),
    billflow: (client) => client.listGoCardlessSubscriptionPayments({ subscriptionId: 'SB000C0NF0RM' }),
  },
  {
    name: 'read a subscription',
    sdk: (sdk) => sdk.subscriptions.find('SB000C0NF0RM'),
    billflow: (client) => client.getGoCardlessSubscription('SB000C0NF0RM'),
  },
  {
    name: 'cancel a subscription',
    sdk: (sdk) => sdk.subscriptions.cancel('SB000C0NF0RM'),
    billflow: (client) => client.cancelGoCardlessSubscription({ subscriptionId: 'SB000C0NF0RM', idempotencyKey: key }),
  },
];

/** What GoCardless requires of a request and reads from it; the rest (User-Agent, client version headers) is each client's own. */
function essentials(request: CapturedRequest) {
  return {
    method: request.method,
    path: request.path,
    query: request.query,
    accept: request.headers.accept,
    authorization: request.headers.authorization,
    version: request.headers['gocardless-version'],
    // The SDK sends a key on every POST (a random one on actions, which GoCardless does not read).
    hasIdempotencyKey: request.headers['idempotency-key'] !== undefined,
    ...(request.body === '' ? {} : { contentType: request.headers['content-type'], body: JSON.parse(request.body) as unknown }),
  };
}

function seed(gocardless: GoCardlessSandbox): void {
  gocardless.seedMandate({ id: 'MD000C0NF0RM', customerId: 'CU000C0NF0RM' });
  gocardless.seedSubscription({ id: 'SB000C0NF0RM', mandateId: 'MD000C0NF0RM' });
  gocardless.seedPayment({ id: 'PM000C0NF0RM', mandateId: 'MD000C0NF0RM', subscriptionId: 'SB000C0NF0RM', status: 'failed' });
}

describe('billflow\'s GoCardless client against gocardless-nodejs, captured at the HTTP layer', () => {
  let sandbox: ProviderSandbox;
  let proxy: CapturingProxy;
  let sdk: GoCardlessClient;
  let billflow: Billflow;

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    proxy = await startCapturingProxy(sandbox.urls.gocardless);
    // `proxy` is the SDK's name for the agent got sends through.
    sdk = new GoCardlessClient(sandbox.accessToken, Environments.Sandbox, { proxy: { https: plainAgentTo(proxy.port) } } as never);
    billflow = createGoCardlessActivities({ apiUrl: proxy.url, accessToken: sandbox.accessToken, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await proxy?.close();
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
    proxy.clear();
    seed(sandbox.state.gocardless);
  });

  it.each(operations)('$name: billflow sends what the SDK sends, and the sandbox answers both', async (operation) => {
    await operation.sdk(sdk);
    const bySdk = proxy.captured.splice(0);

    sandbox.reset();
    seed(sandbox.state.gocardless);
    await operation.billflow(billflow);
    const byBillflow = proxy.captured.splice(0);

    expect(byBillflow.map(essentials)).toEqual(bySdk.map(essentials));
    expect(bySdk.map(essentials)).toEqual([expect.objectContaining({ accept: 'application/json', version: '2015-07-06', authorization: `Bearer ${sandbox.accessToken}` })]);
    // billflow's call, as the SDK's before it, was answered with success.
    expect(sandbox.requests.map((request) => (request.status ?? 0) < 300)).toEqual([true]);
  });

  it('a creation repeated with its key: both clients meet 409 idempotent_creation_conflict and read the payment it names', async () => {
    const create = () => sdk.payments.create({ ...creation, links: { mandate: 'MD000C0NF0RM' } }, key);
    const first = await create();
    const again = await create();
    expect(again.id).toBe(first.id);
    const bySdk = proxy.captured.splice(0).map(essentials);

    sandbox.reset();
    seed(sandbox.state.gocardless);
    const input = { ...creation, mandateId: 'MD000C0NF0RM', idempotencyKey: key };
    const ours = await billflow.createGoCardlessPayment(input);
    expect((await billflow.createGoCardlessPayment(input)).id).toBe(ours.id);
    const byBillflow = proxy.captured.splice(0).map(essentials);

    const shape = (requests: ReturnType<typeof essentials>[]) => requests.map(({ method, path }) => `${method} ${path.replace(/PM[0-9A-Z]+$/, 'PM…')}`);
    expect(shape(bySdk)).toEqual(['POST /payments', 'POST /payments', 'GET /payments/PM…']);
    expect(shape(byBillflow)).toEqual(shape(bySdk));
    expect(sandbox.state.gocardless.payments.size).toBe(2);

    // Told to raise instead, the SDK reads the sandbox's 409 as GoCardless's, with the conflicting id.
    const raising = new GoCardlessClient(sandbox.accessToken, Environments.Sandbox, { proxy: { https: plainAgentTo(proxy.port) }, raiseOnIdempotencyConflict: true } as never);
    const conflict = await raising.payments.create({ ...creation, links: { mandate: 'MD000C0NF0RM' } }, key).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(IdempotentCreationConflictError);
    expect((conflict as IdempotentCreationConflictError).conflictingResourceId).toBe(ours.id);
  });

  it('reads the sandbox\'s other error bodies as GoCardless\'s: not found, invalid state, validation failed', async () => {
    expect(await sdk.mandates.find('MD000N0TF0UND').catch((error: unknown) => error)).toBeInstanceOf(InvalidApiUsageError);
    await sdk.mandates.cancel('MD000C0NF0RM');
    // Actions keep no key: the second cancel meets the cancelled mandate.
    expect(await sdk.mandates.cancel('MD000C0NF0RM').catch((error: unknown) => error)).toBeInstanceOf(InvalidStateError);
    const invalid = await sdk.payments.create({ amount: 100, currency: 'GBP', links: { mandate: 'MD000N0TF0UND' } }).catch((error: unknown) => error);
    expect(invalid).toBeInstanceOf(ValidationFailedError);
  });

  it('the sandbox refuses what GoCardless refuses of the same request: no GoCardless-Version, an unknown version, a wrong token', async () => {
    await sdk.mandates.find('MD000C0NF0RM');
    const [request] = proxy.captured;
    const resend = (headers: Record<string, string | undefined>) =>
      fetch(`${sandbox.urls.gocardless}${request!.path}`, {
        headers: Object.fromEntries(
          Object.entries({ accept: request!.headers.accept, authorization: request!.headers.authorization, 'gocardless-version': request!.headers['gocardless-version'] as string, ...headers }).filter(
            (entry): entry is [string, string] => entry[1] !== undefined,
          ),
        ),
      });
    const reasonOf = async (answer: Response) => ({ status: answer.status, reason: ((await answer.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]?.reason });

    expect((await resend({})).status).toBe(200);
    expect(await reasonOf(await resend({ 'gocardless-version': undefined }))).toEqual({ status: 400, reason: 'missing_version_header' });
    expect(await reasonOf(await resend({ 'gocardless-version': '2014-11-03' }))).toEqual({ status: 400, reason: 'version_not_found' });
    expect(await reasonOf(await resend({ authorization: 'Bearer wrong' }))).toEqual({ status: 401, reason: 'access_token_not_found' });
    expect(await reasonOf(await resend({ authorization: undefined }))).toEqual({ status: 401, reason: 'missing_authorization_header' });
  });

  it("answers the SDK's payment list parameters and pages through its cursors as GoCardless does", async () => {
    const gocardless = sandbox.state.gocardless;
    gocardless.seedMandate({ id: 'MD000L1ST2', customerId: 'CU000C0NF0RM' });
    gocardless.seedMandate({ id: 'MD000OTHER', customerId: 'CU000OTHER' });
    const seeded = ['2026-01-05', '2026-02-05', '2026-03-05', '2026-04-05'].map((day, index) =>
      gocardless.seedPayment({ id: `PM000L1ST${index}`, mandateId: index % 2 ? 'MD000L1ST2' : 'MD000C0NF0RM', status: 'paid_out', chargeDate: day }),
    );
    gocardless.seedPayment({ id: 'PM000OTHER', mandateId: 'MD000OTHER', status: 'paid_out' });
    // Created a month apart, after the payment every test seeds.
    gocardless.payments.get('PM000C0NF0RM')!.createdAt = '2025-12-01T00:00:00.000Z';
    seeded.forEach((payment, index) => (payment.createdAt = `2026-0${index + 1}-01T00:00:00.000Z`));
    const ids = (payments: { id?: string }[]) => payments.map((payment) => payment.id);

    // Newest first by default; the customer's payments across both mandates, the other customer's not.
    const newestFirst = [...ids(seeded).reverse(), 'PM000C0NF0RM'];
    const first = await sdk.payments.list({ customer: 'CU000C0NF0RM', limit: 2 });
    expect(ids(first.payments)).toEqual(newestFirst.slice(0, 2));
    expect(first.meta).toEqual({ cursors: { before: null, after: 'PM000L1ST2' }, limit: 2 });
    const second = await sdk.payments.list({ customer: 'CU000C0NF0RM', limit: 2, after: first.meta.cursors?.after ?? undefined });
    expect(ids(second.payments)).toEqual(newestFirst.slice(2, 4));
    expect(second.meta.cursors).toEqual({ before: 'PM000L1ST1', after: 'PM000L1ST0' });
    const back = await sdk.payments.list({ customer: 'CU000C0NF0RM', limit: 2, before: second.meta.cursors?.before ?? undefined });
    expect(ids(back.payments)).toEqual(newestFirst.slice(0, 2));

    // The SDK's own paging reads every page to the end.
    const all: string[] = [];
    for await (const payment of sdk.payments.all({ customer: 'CU000C0NF0RM', limit: 2 })) all.push(payment.id ?? '');
    expect(all).toEqual(newestFirst);

    const chargedInFebruaryOrMarch = await sdk.payments.list({ charge_date: { gte: '2026-02-01', lt: '2026-04-01' } as never, sort_field: 'charge_date' as never });
    expect(ids(chargedInFebruaryOrMarch.payments)).toEqual(['PM000L1ST1', 'PM000L1ST2']);
    const created = await sdk.payments.list({ created_at: { gt: new Date(Date.now() + 60_000).toISOString() } as never, currency: 'GBP' as never, scheme: 'bacs', creditor: 'CR000SANDBOX' });
    expect(created.payments).toEqual([]);
    expect(ids((await sdk.payments.list({ mandate: 'MD000L1ST2', status: 'paid_out' as never })).payments)).toEqual(['PM000L1ST3', 'PM000L1ST1']);

    // Refused as GoCardless refuses them: a cursor naming nothing, both cursors, a malformed date, an unknown status.
    expect(await sdk.payments.list({ after: 'PM000N0TF0UND' }).catch((error: unknown) => error)).toBeInstanceOf(InvalidApiUsageError);
    expect(await sdk.payments.list({ after: 'PM000L1ST1', before: 'PM000L1ST2' }).catch((error: unknown) => error)).toBeInstanceOf(InvalidApiUsageError);
    expect(await sdk.payments.list({ charge_date: { gte: '5 February' } as never }).catch((error: unknown) => error)).toBeInstanceOf(ValidationFailedError);
    expect(await sdk.payments.list({ status: 'lost' as never }).catch((error: unknown) => error)).toBeInstanceOf(ValidationFailedError);
  });
});
