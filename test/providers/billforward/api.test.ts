import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBillForwardActivities } from '../../../src/providers/billforward/api';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

describe('BillForward client against the provider sandbox', () => {
  let sandbox: ProviderSandbox;
  let billforward: ReturnType<typeof createBillForwardActivities>;
  const calls = () => sandbox.requests.filter((request) => request.provider === 'billforward').map((request) => `${request.method} ${request.path} ${request.status}`);

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    billforward = createBillForwardActivities({ apiUrl: sandbox.urls.billforward, accessToken: sandbox.accessToken, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  it('reads an account, a deleted one as deleted (BillForward still answers it), and refuses an unknown one for good', async () => {
    sandbox.state.billforward.seedAccount({ id: 'ACC-1' });
    sandbox.state.billforward.seedAccount({ id: 'ACC-2', deleted: true });
    expect(await billforward.getBillForwardAccount('ACC-1')).toEqual({ id: 'ACC-1', deleted: false });
    expect(await billforward.getBillForwardAccount('ACC-2')).toEqual({ id: 'ACC-2', deleted: true });
    expect(calls()).toEqual(['GET /billforward/accounts/ACC-1 200', 'GET /billforward/accounts/ACC-2 200']);
    await expect(billforward.getBillForwardAccount('ACC-none')).rejects.toMatchObject({ nonRetryable: true });
  });

  it('reads a notification, parsing the entity and changes BillForward double-encodes', async () => {
    sandbox.state.billforward.seedNotification({
      id: 'NOT-1',
      domain: 'Invoice',
      action: 'PaymentFailed',
      entityId: 'INV-1',
      entity: { id: 'INV-1', state: 'Unpaid' },
      changes: { state: ['Pending', 'Unpaid'] },
    });

    expect(await billforward.getBillForwardNotification('NOT-1')).toEqual({
      id: 'NOT-1',
      domain: 'Invoice',
      action: 'PaymentFailed',
      entityId: 'INV-1',
      entity: { id: 'INV-1', state: 'Unpaid' },
      changes: { state: ['Pending', 'Unpaid'] },
      created: expect.any(String),
    });
    expect(sandbox.requests[0]?.headers.authorization).toBe(`Bearer ${sandbox.accessToken}`);
  });

  it('executes an unpaid invoice, and on a repeat finds it paid and does not execute again', async () => {
    sandbox.state.billforward.seedSubscription({ id: 'SUB-2', accountId: 'ACC-2', state: 'AwaitingPayment' });
    sandbox.state.billforward.seedInvoice({ id: 'INV-2', accountId: 'ACC-2', subscriptionId: 'SUB-2' });

    expect(await billforward.executeBillForwardInvoice({ invoiceId: 'INV-2' })).toEqual({ id: 'INV-2', versionId: expect.any(String), state: 'Paid', subscriptionId: 'SUB-2', accountId: 'ACC-2' });
    expect(await billforward.executeBillForwardInvoice({ invoiceId: 'INV-2' })).toMatchObject({ state: 'Paid' });

    expect(sandbox.state.billforward.invoices.get('INV-2')?.executions).toBe(1);
    expect(sandbox.state.billforward.subscriptions.get('SUB-2')?.state).toBe('Paid');
    expect(calls()).toEqual(['GET /billforward/invoices/INV-2 200', 'POST /billforward/invoices/INV-2/execute 200', 'GET /billforward/invoices/INV-2 200']);
    expect(sandbox.requests[1]?.body).toEqual({ executionType: 'Automatic' });
  });

  it('leaves an invoice whose payment failed Unpaid, and tries again when asked again', async () => {
    sandbox.state.billforward.seedInvoice({ id: 'INV-3', accountId: 'ACC-3', nextOutcome: 'decline' });

    expect((await billforward.executeBillForwardInvoice({ invoiceId: 'INV-3' })).state).toBe('Unpaid');
    sandbox.state.billforward.invoices.get('INV-3')!.nextOutcome = 'succeed';
    expect((await billforward.executeBillForwardInvoice({ invoiceId: 'INV-3' })).state).toBe('Paid');
    expect(sandbox.state.billforward.invoices.get('INV-3')?.executions).toBe(2);
  });

  it('sandbox: versions invoices as BillForward does; /invoices/{id} takes the invoice\'s id only, /invoices/version/{id} a version\'s', async () => {
    const invoice = sandbox.state.billforward.seedInvoice({ id: 'INV-V1', versionId: 'A1B2C3D4-0000-4000-8000-000000000001', accountId: 'ACC-V1' });
    const get = async (path: string) => {
      const response = await fetch(`${sandbox.urls.billforward}${path}`, { headers: { authorization: `Bearer ${sandbox.accessToken}` } });
      return { status: response.status, body: (await response.json()) as { results?: { id: string; versionID: string; state: string; versionNumber: number }[]; errorType?: string } };
    };

    expect(await get(`/invoices/${invoice.versionId}`)).toMatchObject({ status: 404, body: { errorType: 'NotFound' } });
    expect((await get(`/invoices/version/${invoice.versionId}`)).body.results?.[0]).toMatchObject({ id: 'INV-V1', versionID: invoice.versionId, versionNumber: 1, state: 'Unpaid' });

    await billforward.executeBillForwardInvoice({ invoiceId: 'INV-V1' });
    // The paid invoice is a new version; the first one now reads as replaced (voided).
    const current = (await get('/invoices/INV-V1')).body.results?.[0];
    expect(current).toMatchObject({ id: 'INV-V1', state: 'Paid', versionNumber: 2 });
    expect(current?.versionID).not.toBe('A1B2C3D4-0000-4000-8000-000000000001');
    expect((await get('/invoices/version/A1B2C3D4-0000-4000-8000-000000000001')).body.results?.[0]).toMatchObject({ id: 'INV-V1', state: 'Voided' });
  });

  it('given a version\'s id (an invoice notification\'s entityID), reads and executes the invoice it belongs to', async () => {
    sandbox.state.billforward.seedInvoice({ id: 'INV-V2', versionId: 'A1B2C3D4-0000-4000-8000-000000000002', accountId: 'ACC-V2' });

    expect(await billforward.getBillForwardInvoice('A1B2C3D4-0000-4000-8000-000000000002')).toMatchObject({ id: 'INV-V2', state: 'Unpaid' });
    expect(await billforward.executeBillForwardInvoice({ invoiceId: 'A1B2C3D4-0000-4000-8000-000000000002' })).toMatchObject({ id: 'INV-V2', state: 'Paid' });
    expect(calls()).toEqual([
      'GET /billforward/invoices/A1B2C3D4-0000-4000-8000-000000000002 404',
      'GET /billforward/invoices/version/A1B2C3D4-0000-4000-8000-000000000002 200',
      'GET /billforward/invoices/INV-V2 200',
      'GET /billforward/invoices/A1B2C3D4-0000-4000-8000-000000000002 404',
      'GET /billforward/invoices/version/A1B2C3D4-0000-4000-8000-000000000002 200',
      'GET /billforward/invoices/INV-V2 200',
      'POST /billforward/invoices/INV-V2/execute 200',
    ]);
  });

  it('fails for good on a voided invoice without executing it', async () => {
    sandbox.state.billforward.seedInvoice({ id: 'INV-4', accountId: 'ACC-4', state: 'Voided' });
    expect(await failureOf(billforward.executeBillForwardInvoice({ invoiceId: 'INV-4' }))).toMatchObject({ nonRetryable: true, type: 'invoice_voided' });
    expect(calls()).toEqual(['GET /billforward/invoices/INV-4 200']);
  });

  it('cancels once: a repeated cancel finds the subscription cancelled', async () => {
    sandbox.state.billforward.seedSubscription({ id: 'SUB-5', accountId: 'ACC-5' });

    expect(await billforward.cancelBillForwardSubscription({ subscriptionId: 'SUB-5' })).toMatchObject({ id: 'SUB-5', state: 'Cancelled' });
    expect(await billforward.cancelBillForwardSubscription({ subscriptionId: 'SUB-5' })).toMatchObject({ state: 'Cancelled' });
    expect(calls().filter((call) => call.startsWith('POST'))).toEqual(['POST /billforward/subscriptions/SUB-5/cancel 200']);
    expect(sandbox.requests.find((request) => request.method === 'POST')?.body).toEqual({ subscriptionID: 'SUB-5', serviceEnd: 'Immediate', source: 'billflow' });
  });

  it('cancels at period end: the subscription runs until the renewal, which cancels it', async () => {
    sandbox.state.billforward.seedSubscription({ id: 'SUB-6', accountId: 'ACC-6' });
    expect((await billforward.cancelBillForwardSubscription({ subscriptionId: 'SUB-6', atPeriodEnd: true })).state).toBe('Paid');
    sandbox.state.billforward.renew('SUB-6', 'succeed');
    expect((await billforward.getBillForwardSubscription('SUB-6')).state).toBe('Cancelled');
  });

  it('freezes and resumes, each once', async () => {
    sandbox.state.billforward.seedSubscription({ id: 'SUB-7', accountId: 'ACC-7' });
    expect((await billforward.freezeBillForwardSubscription({ subscriptionId: 'SUB-7' })).frozen).toBe(true);
    expect((await billforward.freezeBillForwardSubscription({ subscriptionId: 'SUB-7' })).frozen).toBe(true);
    expect((await billforward.resumeBillForwardSubscription({ subscriptionId: 'SUB-7' })).frozen).toBe(false);
    expect((await billforward.resumeBillForwardSubscription({ subscriptionId: 'SUB-7' })).frozen).toBe(false);
    expect(calls().filter((call) => call.startsWith('POST'))).toEqual(['POST /billforward/subscriptions/SUB-7/freeze 200', 'POST /billforward/subscriptions/SUB-7/resume 200']);
  });

  it('fails for good on 404 and on a wrong token, typed by BillForward\'s errorType', async () => {
    const missing = await failureOf(billforward.getBillForwardInvoice('INV-404'));
    expect(missing).toMatchObject({ nonRetryable: true, type: 'NotFound' });
    expect(missing.message).toBe('BillForward GET /invoices/INV-404 answered HTTP 404: No Invoice found with ID INV-404');

    const impostor = createBillForwardActivities({ apiUrl: sandbox.urls.billforward, accessToken: 'wrong' });
    expect(await failureOf(impostor.getBillForwardInvoice('INV-404'))).toMatchObject({ nonRetryable: true, type: 'Oauth' });
  });

  it('fails for good without calling out when no token is configured', async () => {
    const unconfigured = createBillForwardActivities({ apiUrl: sandbox.urls.billforward, accessToken: '' });
    expect(await failureOf(unconfigured.getBillForwardSubscription('SUB-x'))).toMatchObject({ nonRetryable: true, type: 'missing_configuration' });
    expect(sandbox.requests).toHaveLength(0);
  });

  it('retries a 429 after the delay Retry-After asks for, then succeeds', async () => {
    sandbox.state.billforward.seedSubscription({ id: 'SUB-8', accountId: 'ACC-8' });
    sandbox.failNext({ provider: 'billforward', status: 429, retryAfterSeconds: 2 });

    expect(await failureOf(billforward.getBillForwardSubscription('SUB-8'))).toMatchObject({ nonRetryable: false, type: 'RateLimit', nextRetryDelay: 2000 });
    expect((await billforward.getBillForwardSubscription('SUB-8')).state).toBe('Paid');
  });

  it('retries a 5xx met while executing; the retry finds the state and executes once', async () => {
    sandbox.state.billforward.seedInvoice({ id: 'INV-9', accountId: 'ACC-9' });
    sandbox.failNext({ provider: 'billforward', status: 502 });

    expect(await failureOf(billforward.executeBillForwardInvoice({ invoiceId: 'INV-9' }))).toMatchObject({ nonRetryable: false, type: 'ServerError' });
    expect((await billforward.executeBillForwardInvoice({ invoiceId: 'INV-9' })).state).toBe('Paid');
    expect(sandbox.state.billforward.invoices.get('INV-9')?.executions).toBe(1);
  });

  it('retries a call that gets no answer in time', async () => {
    sandbox.failNext({ provider: 'billforward', hang: true });
    const impatient = createBillForwardActivities({ apiUrl: sandbox.urls.billforward, accessToken: sandbox.accessToken, timeoutMs: 150 });
    const failure = await failureOf(impatient.getBillForwardInvoice('INV-slow'));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'timeout' });
    expect(failure.message).toBe('BillForward GET /invoices/INV-slow got no answer within 150 ms');
  });
});
