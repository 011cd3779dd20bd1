import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';

describe('the provider sandbox for Recurly, Stripe, BillForward and CCBill, driven over HTTP', () => {
  let sandbox: ProviderSandbox;
  const send = async (method: string, path: string, body?: unknown) => {
    const answer = await fetch(`${sandbox.url}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: answer.status, body: (await answer.json().catch(() => undefined)) as Record<string, unknown> };
  };

  beforeAll(async () => {
    sandbox = await startProviderSandbox({ accessToken: 'sandbox-test-token' });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  it('seeds each provider, renews subscriptions on command and resets everything', async () => {
    expect((await send('POST', '/_sandbox/recurly/subscriptions', { id: 'e28zov4fw0v2', accountCode: 'a1' })).status).toBe(201);
    expect((await send('POST', '/_sandbox/stripe/subscriptions', { id: 'sub_1', customerId: 'cus_1' })).status).toBe(201);
    expect((await send('POST', '/_sandbox/billforward/subscriptions', { id: 'SUB-1', accountId: 'ACC-1' })).status).toBe(201);
    expect((await send('POST', '/_sandbox/ccbill/subscriptions', { id: '0300000001' })).status).toBe(201);
    expect((await send('POST', '/_sandbox/gocardless/mandates', { id: 'MD1', customerId: 'CU1' })).status).toBe(201);
    expect((await send('POST', '/_sandbox/gocardless/subscriptions', { id: 'SB1', mandateId: 'MD1' })).status).toBe(201);

    const recurly = await send('POST', '/_sandbox/recurly/subscriptions/e28zov4fw0v2/renew', { outcome: 'decline' });
    expect(recurly.body).toMatchObject({ subscription: { state: 'active' }, invoice: { state: 'past_due', subscriptionId: 'e28zov4fw0v2' } });
    const stripe = await send('POST', '/_sandbox/stripe/subscriptions/sub_1/renew', {});
    expect(stripe.body).toMatchObject({ subscription: { status: 'active' }, invoice: { status: 'paid' } });
    const billforward = await send('POST', '/_sandbox/billforward/subscriptions/SUB-1/renew', { outcome: 'decline' });
    expect(billforward.body).toMatchObject({ subscription: { state: 'AwaitingPayment' }, invoice: { state: 'Unpaid' } });
    expect((await send('POST', '/_sandbox/ccbill/subscriptions/0300000001/renew', {})).body).toMatchObject({ timesRebilled: 1 });
    expect((await send('POST', '/_sandbox/gocardless/subscriptions/SB1/renew', { outcome: 'decline' })).body).toMatchObject({
      payment: { status: 'failed', subscriptionId: 'SB1', mandateId: 'MD1' },
    });

    // The failed Recurly invoice: told to succeed, its next collection pays.
    const invoiceId = (recurly.body.invoice as { id: string }).id;
    expect((await send('PATCH', `/_sandbox/recurly/invoices/${invoiceId}`, { nextOutcome: 'succeed' })).body).toMatchObject({ nextOutcome: 'succeed' });

    expect((await send('POST', '/_sandbox/reset')).status).toBe(204);
    expect((await send('GET', '/_sandbox/recurly/subscriptions')).body).toEqual([]);
    expect((await send('GET', '/_sandbox/ccbill/subscriptions')).body).toEqual([]);
  });

  it('refuses a renewal a subscription cannot have, saying why', async () => {
    await send('POST', '/_sandbox/stripe/subscriptions', { id: 'sub_2', customerId: 'cus_2', status: 'canceled' });
    const refused = await send('POST', '/_sandbox/stripe/subscriptions/sub_2/renew', {});
    expect(refused).toEqual({ status: 400, body: { error: 'a canceled subscription does not renew' } });
  });

  it('serves Stripe at its root for the SDK, and under /stripe, recording both as Stripe', async () => {
    await send('POST', '/_sandbox/stripe/invoices', { id: 'in_1', customerId: 'cus_1' });
    const headers = { authorization: 'Bearer sandbox-test-token' };
    expect((await fetch(`${sandbox.url}/v1/invoices/in_1`, { headers })).status).toBe(200);
    expect((await fetch(`${sandbox.url}/stripe/v1/invoices/in_1`, { headers })).status).toBe(200);
    expect(sandbox.requests.map((request) => [request.provider, request.path])).toEqual([
      ['stripe', '/stripe/v1/invoices/in_1'],
      ['stripe', '/stripe/v1/invoices/in_1'],
    ]);
  });

  it('faults only the method asked for, so the read before an action passes', async () => {
    await send('POST', '/_sandbox/recurly/invoices', { number: '1001', accountCode: 'a1' });
    expect((await send('POST', '/_sandbox/faults', { provider: 'recurly', method: 'PUT', status: 500 })).status).toBe(204);
    const headers = { authorization: `Basic ${Buffer.from('sandbox-test-token:').toString('base64')}`, accept: 'application/vnd.recurly.v2021-02-25', 'idempotency-key': 'k' };
    expect((await fetch(`${sandbox.urls.recurly}/invoices/number-1001`, { headers })).status).toBe(200);
    expect((await fetch(`${sandbox.urls.recurly}/invoices/number-1001/collect`, { method: 'PUT', headers })).status).toBe(500);
    expect((await fetch(`${sandbox.urls.recurly}/invoices/number-1001/collect`, { method: 'PUT', headers })).status).toBe(200);
  });

  it('answers a reused idempotency key as the first request, marking Stripe replays', async () => {
    await send('POST', '/_sandbox/stripe/invoices', { id: 'in_2', customerId: 'cus_2' });
    const pay = () => fetch(`${sandbox.url}/v1/invoices/in_2/pay`, { method: 'POST', headers: { authorization: 'Bearer sandbox-test-token', 'idempotency-key': 'same' } });
    const first = await pay();
    const again = await pay();
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
  });
});

describe('sandboxProviderSettings', () => {
  let sandbox: ProviderSandbox;
  beforeAll(async () => {
    sandbox = await startProviderSandbox({ accessToken: 'sandbox-token' });
  });
  afterAll(async () => {
    await sandbox.close();
  });

  it('points every provider without credentials at the sandbox, as loadConfig reads them', () => {
    const config = loadConfig(sandboxProviderSettings(sandbox, {}));
    expect(config.gocardless).toMatchObject({ apiUrl: sandbox.urls.gocardless, accessToken: 'sandbox-token' });
    expect(config.recurly).toMatchObject({ apiUrl: sandbox.urls.recurly, apiKey: 'sandbox-token' });
    expect(config.stripe).toMatchObject({ apiUrl: sandbox.urls.stripe, apiKey: 'sandbox-token' });
    expect(config.billforward).toMatchObject({ apiUrl: sandbox.urls.billforward, accessToken: 'sandbox-token' });
    expect(config.ccbill).toMatchObject({ datalinkUrl: sandbox.urls.ccbill, datalinkUsername: 'billflow-sandbox', datalinkPassword: 'sandbox-token', clientAccnum: '900000' });
    expect(sandbox.urls.ccbill).toBe(`${sandbox.url}/ccbill/utils/subscriptionManagement.cgi`);
    expect(sandbox.urls.stripe).toBe(sandbox.url);
  });

  it('leaves providers with credentials alone', () => {
    const settings = sandboxProviderSettings(sandbox, { STRIPE_API_KEY: 'sk_live_x', CCBILL_DATALINK_USERNAME: 'merchant' });
    expect(Object.keys(settings).filter((name) => name.startsWith('STRIPE') || name.startsWith('CCBILL'))).toEqual([]);
    expect(settings.RECURLY_API_KEY).toBe('sandbox-token');
  });
});
