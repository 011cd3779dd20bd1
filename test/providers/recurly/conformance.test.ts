import * as recurlySdk from 'recurly';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRecurlyActivities, listRecurlyUpdatedSince } from '../../../src/providers/recurly/api';
import type { RecurlySandbox } from '../../../src/providers/recurly/testing/sandbox';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { recurlyUuid } from '../../support/recurly';
import { startCapturingProxy, type CapturedRequest, type CapturingProxy } from '../support/capture';

/*
 * Each call billflow's Recurly client makes, made also by the official client (`recurly` on npm,
 * recurly-client-node) and both captured at the HTTP layer: billflow must send what the SDK sends
 * (method, path with its prefixed key, query, required headers, body). Both go through a capturing
 * proxy to the sandbox, so the sandbox is shown to accept what the SDK sends; the variants the real
 * API refuses (a bare uuid, no versioned Accept, a wrong key) are then replayed to it, refused.
 */

interface HttpAdapterLike {
  execute(method: string, url: string, headers: Record<string, string>, body: string | null): Promise<unknown>;
}
const { DefaultHttpAdapter } = recurlySdk as unknown as { DefaultHttpAdapter: new () => HttpAdapterLike };

/** The SDK's own HTTP adapter, sending to the proxy instead of the host it has hard-coded. */
function adapterTo(proxyUrl: string): HttpAdapterLike {
  const adapter = new DefaultHttpAdapter();
  const execute = adapter.execute.bind(adapter);
  adapter.execute = (method, url, headers, body) => execute(method, url.replace(/^https:\/\/v3\.recurly\.com/, proxyUrl), headers, body);
  return adapter;
}

interface Records {
  uuid: string;
  transactionUuid: string;
}

interface Operation {
  name: string;
  sdk(client: recurlySdk.Client, records: Records): Promise<unknown>;
  billflow(client: ReturnType<typeof createRecurlyActivities>, records: Records): Promise<unknown>;
}

const key = 'recurly:subscription:conformance/step-1';
const operations: Operation[] = [
  {
    name: 'read an account by code',
    sdk: (sdk) => sdk.getAccount('code-verena'),
    billflow: (client) => client.getRecurlyAccount('verena'),
  },
  {
    name: 'read a subscription by uuid',
    sdk: (sdk, { uuid }) => sdk.getSubscription(`uuid-${uuid}`),
    billflow: (client, { uuid }) => client.getRecurlySubscription(uuid),
  },
  {
    name: 'read an invoice by number',
    sdk: (sdk) => sdk.getInvoice('number-1000'),
    billflow: (client) => client.getRecurlyInvoice('1000'),
  },
  {
    name: 'read a transaction by uuid',
    sdk: (sdk, { transactionUuid }) => sdk.getTransaction(`uuid-${transactionUuid}`),
    billflow: (client, { transactionUuid }) => client.getRecurlyTransaction(transactionUuid),
  },
  {
    name: 'collect an invoice',
    sdk: (sdk) => sdk.collectInvoice('number-1000', { headers: { 'Idempotency-Key': key } }),
    billflow: (client) => client.collectRecurlyInvoice({ invoiceId: '1000', idempotencyKey: key }),
  },
  {
    name: 'cancel a subscription',
    sdk: (sdk, { uuid }) => sdk.cancelSubscription(`uuid-${uuid}`, { headers: { 'Idempotency-Key': key } }),
    billflow: (client, { uuid }) => client.cancelRecurlySubscription({ subscriptionId: uuid, idempotencyKey: key }),
  },
  {
    name: 'terminate a subscription',
    sdk: (sdk, { uuid }) => sdk.terminateSubscription(`uuid-${uuid}`, { params: { refund: 'none' }, headers: { 'Idempotency-Key': key } }),
    billflow: (client, { uuid }) => client.terminateRecurlySubscription({ subscriptionId: uuid, idempotencyKey: key }),
  },
  {
    name: 'pause a subscription',
    // The SDK takes options (headers) here too; its type declarations omit them.
    sdk: (sdk, { uuid }) => (sdk.pauseSubscription as (id: string, body: object, options: object) => Promise<unknown>).call(
      sdk, `uuid-${uuid}`, { remaining_pause_cycles: 2 }, { headers: { 'Idempotency-Key': key } },
    ),
    billflow: (client, { uuid }) => client.pauseRecurlySubscription({ subscriptionId: uuid, remainingPauseCycles: 2, idempotencyKey: key }),
  },
];

/** What Recurly requires of a request and reads from it; the rest (User-Agent, Content-Length) is each client's own. */
function essentials(request: CapturedRequest) {
  return {
    method: request.method,
    path: request.path,
    query: request.query,
    accept: request.headers.accept,
    authorization: request.headers.authorization,
    idempotencyKey: request.headers['idempotency-key'],
    ...(request.body === '' ? {} : { contentType: request.headers['content-type'], body: JSON.parse(request.body) as unknown }),
  };
}

describe('billflow\'s Recurly client against recurly-client-node, captured at the HTTP layer', () => {
  let sandbox: ProviderSandbox;
  let proxy: CapturingProxy;
  let sdk: recurlySdk.Client;
  let billflow: ReturnType<typeof createRecurlyActivities>;
  let records: Records;

  /** The records each operation acts on, as Recurly names them: fresh for each client. */
  const seed = (recurly: RecurlySandbox): Records => {
    const uuid = recurlyUuid();
    const subscription = recurly.seedSubscription({ uuid, accountCode: 'verena' });
    const invoice = recurly.seedInvoice({ number: '1000', accountCode: 'verena', subscriptionId: subscription.id });
    const transaction = recurly.seedTransaction({ uuid: recurlyUuid(), accountCode: 'verena', subscriptionUuid: uuid, invoiceId: invoice.id });
    return { uuid, transactionUuid: transaction.uuid };
  };

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    proxy = await startCapturingProxy(sandbox.urls.recurly);
    sdk = new recurlySdk.Client(sandbox.accessToken, { httpAdapter: adapterTo(proxy.url) });
    billflow = createRecurlyActivities({ apiUrl: proxy.url, apiKey: sandbox.accessToken, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await proxy?.close();
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
    proxy.clear();
    records = seed(sandbox.state.recurly);
  });

  it.each(operations)('$name: billflow sends what the SDK sends, and the sandbox answers both', async (operation) => {
    await operation.sdk(sdk, records);
    const [bySdk, ...moreBySdk] = proxy.captured.splice(0);

    sandbox.reset();
    const again = seed(sandbox.state.recurly);
    await operation.billflow(billflow, again);
    const [byBillflow, ...moreByBillflow] = proxy.captured.splice(0);

    expect(moreBySdk).toEqual([]);
    expect(moreByBillflow).toEqual([]);
    // The records differ between the runs by their uuids only: compare with the SDK's, renamed.
    const renamed = (request: CapturedRequest) =>
      essentials({ ...request, path: request.path.replace(again.uuid, records.uuid).replace(again.transactionUuid, records.transactionUuid) });
    expect(renamed(byBillflow!)).toEqual(essentials(bySdk!));
    expect(essentials(bySdk!)).toMatchObject({ accept: 'application/vnd.recurly.v2021-02-25', authorization: expect.stringMatching(/^Basic /) });
    expect(sandbox.requests.map((request) => request.status)).toEqual([200]);
  });

  it('lists what changed since a time as the SDK pages it: the same parameters, the same next pages, every record once', async () => {
    for (let index = 0; index < 250; index += 1) sandbox.state.recurly.seedSubscription({ accountCode: `listed-${index}` });
    const since = new Date(Date.now() - 60_000);
    proxy.clear();
    const bySdk: string[] = [];
    const pager = sdk.listSubscriptions({ params: { limit: 200, order: 'asc', sort: 'updated_at', beginTime: since } });
    for await (const subscription of pager.each()) bySdk.push(subscription.id ?? '');
    const sdkRequests = proxy.captured.splice(0);
    const byBillflow = await listRecurlyUpdatedSince({ apiUrl: proxy.url, apiKey: sandbox.accessToken, timeoutMs: 2000 }, 'subscriptions', since, z.object({ id: z.string() }));
    const billflowRequests = proxy.captured.splice(0);

    expect(bySdk).toHaveLength(251);
    expect(byBillflow.map(({ id }) => id)).toEqual(bySdk);
    const sent = (request: CapturedRequest) => ({ ...essentials(request), query: Object.fromEntries([...new URLSearchParams(request.query)].sort()) });
    expect(billflowRequests.map(sent)).toEqual(sdkRequests.map(sent));
    expect(sdkRequests).toHaveLength(2);
    expect(sent(sdkRequests[0]!).query).toEqual({ begin_time: since.toISOString(), limit: '200', order: 'asc', sort: 'updated_at' });
    expect(sent(sdkRequests[1]!).query).toMatchObject({ cursor: expect.any(String), begin_time: since.toISOString() });
  });

  it('reads the sandbox\'s error bodies as Recurly\'s: a missing record, a declined collection', async () => {
    const missing = await sdk.getSubscription(`uuid-${recurlyUuid()}`).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(recurlySdk.errors.NotFoundError);

    sandbox.state.recurly.seedInvoice({ number: '1001', accountCode: 'verena', nextOutcome: 'decline' });
    const declined = await sdk.collectInvoice('number-1001', { headers: { 'Idempotency-Key': 'decline-1001' } }).catch((error: unknown) => error);
    expect(declined).toBeInstanceOf(recurlySdk.errors.TransactionError);
    expect((declined as { transactionError?: { code?: string } }).transactionError?.code).toBe('insufficient_funds');
  });

  it('the sandbox refuses what Recurly refuses of the same requests: a bare uuid or number, no versioned Accept, a wrong key', async () => {
    await sdk.getSubscription(`uuid-${records.uuid}`);
    await sdk.getInvoice('number-1000');
    const [subscription, invoice] = proxy.captured;
    const resend = (request: CapturedRequest, change: { path?: string; headers?: Record<string, string | undefined> }) => {
      const headers = Object.fromEntries(
        Object.entries({ accept: request.headers.accept, authorization: request.headers.authorization, ...change.headers }).filter(
          (entry): entry is [string, string] => entry[1] !== undefined,
        ),
      );
      return fetch(`${sandbox.urls.recurly}${change.path ?? request.path}`, { method: request.method, headers });
    };

    expect((await resend(subscription!, {})).status).toBe(200);
    const bareUuid = await resend(subscription!, { path: `/subscriptions/${records.uuid}` });
    expect(bareUuid.status).toBe(404);
    expect(await bareUuid.json()).toMatchObject({ error: { type: 'not_found', message: expect.any(String) } });
    expect((await resend(invoice!, { path: '/invoices/1000' })).status).toBe(404);
    expect((await resend(subscription!, { headers: { accept: undefined } })).status).toBe(406);
    expect((await resend(subscription!, { headers: { accept: 'application/json' } })).status).toBe(406);
    const unauthorized = await resend(subscription!, { headers: { authorization: `Basic ${Buffer.from('wrong:').toString('base64')}` } });
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ error: { type: 'unauthorized' } });
  });
});
