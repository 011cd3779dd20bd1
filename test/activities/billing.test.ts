import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createActivities, type Activities } from '../../activities';
import { AccountStore } from '../../src/store/account-store';
import { openDatabase, type Database } from '../../src/store/database';
import { loadConfig } from '../../src/config';
import { sandboxProviderSettings, startProviderSandbox, type ProviderSandbox } from '../../src/testing/sandbox/server';
import { routeTemporalLogs } from '../../src/temporal/runtime-logging';
import { failureOf } from '../support/failures';
import { recurlyUuid } from '../support/recurly';

/** The activities as the worker builds them, every provider pointed at the sandbox through the config. */
function activitiesFor(sandbox: ProviderSandbox, store: AccountStore): Activities {
  const config = loadConfig(sandboxProviderSettings(sandbox, {}));
  return createActivities({ store, providers: config, apiTimeoutMs: 2000 });
}

describe('provider-agnostic billing activities against the provider sandbox', () => {
  let sandbox: ProviderSandbox;
  let database: Database;
  let activities: Activities;
  const posts = (provider: string) => sandbox.requests.filter((request) => request.provider === provider && request.method !== 'GET');

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    database = await openDatabase({});
    activities = activitiesFor(sandbox, new AccountStore(database));
  });

  afterAll(async () => {
    await database?.close();
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  describe('retryPayment', () => {
    it('GoCardless: retries the failed payment; a repeat finds it submitted and does not retry again', async () => {
      sandbox.seedMandate({ id: 'MD1', customerId: 'CU1' });
      sandbox.seedPayment({ id: 'PM1', mandateId: 'MD1', status: 'failed' });
      const input = { provider: 'gocardless', paymentId: 'PM1', idempotencyKey: 'gocardless:subscription:SB1/retry-1' } as const;

      expect(await activities.retryPayment(input)).toEqual({ provider: 'gocardless', id: 'PM1', outcome: 'pending', providerStatus: 'pending_submission' });
      expect(await activities.retryPayment(input)).toMatchObject({ outcome: 'pending' });
      expect(sandbox.state.gocardless.payments.get('PM1')?.retries).toBe(1);
      expect(posts('gocardless').map((request) => request.headers['idempotency-key'])).toEqual([input.idempotencyKey]);
    });

    it('Recurly: collects the invoice, and reports a decline as a failed outcome with its code', async () => {
      sandbox.state.recurly.seedInvoice({ number: '1001', accountCode: 'acct-1' });
      sandbox.state.recurly.seedInvoice({ number: '1002', accountCode: 'acct-1', nextOutcome: 'decline' });

      expect(await activities.retryPayment({ provider: 'recurly', invoiceId: '1001', idempotencyKey: 'k1' })).toEqual({
        provider: 'recurly',
        id: '1001',
        outcome: 'paid',
        providerStatus: 'paid',
      });
      expect(await activities.retryPayment({ provider: 'recurly', invoiceId: '1002', idempotencyKey: 'k2' })).toEqual({
        provider: 'recurly',
        id: '1002',
        outcome: 'failed',
        providerStatus: 'declined',
        declineCode: 'insufficient_funds',
        declineMessage: expect.stringContaining('insufficient funds'),
      });
      // Already paid: nothing is sent, whatever the key.
      expect(await activities.retryPayment({ provider: 'recurly', invoiceId: '1001', idempotencyKey: 'k3' })).toMatchObject({ outcome: 'paid' });
      expect(posts('recurly')).toHaveLength(2);
    });

    it('Stripe: pays the invoice; a decline fails, and succeeds on command at the next attempt', async () => {
      sandbox.state.stripe.seedInvoice({ id: 'in_1', customerId: 'cus_1', nextOutcome: 'decline' });

      expect(await activities.retryPayment({ provider: 'stripe', invoiceId: 'in_1', idempotencyKey: 'attempt-1' })).toMatchObject({
        outcome: 'failed',
        declineCode: 'insufficient_funds',
      });
      sandbox.state.stripe.invoices.get('in_1')!.nextOutcome = 'succeed';
      expect(await activities.retryPayment({ provider: 'stripe', invoiceId: 'in_1', idempotencyKey: 'attempt-2' })).toEqual({
        provider: 'stripe',
        id: 'in_1',
        outcome: 'paid',
        providerStatus: 'paid',
      });
    });

    it('BillForward: executes the invoice; an unpaid result is a failed outcome', async () => {
      sandbox.state.billforward.seedInvoice({ id: 'INV-1', accountId: 'ACC-1', nextOutcome: 'decline' });
      expect(await activities.retryPayment({ provider: 'billforward', invoiceId: 'INV-1', idempotencyKey: 'k' })).toEqual({
        provider: 'billforward',
        id: 'INV-1',
        outcome: 'failed',
        providerStatus: 'Unpaid',
      });
    });

    it('CCBill: fails for good, since CCBill retries rebills itself', async () => {
      const failure = await failureOf(activities.retryPayment({ provider: 'ccbill', paymentId: '123', idempotencyKey: 'k' }));
      expect(failure).toMatchObject({ nonRetryable: true, type: 'provider_retries_itself' });
      expect(sandbox.requests).toHaveLength(0);
    });

    it('fails for good when the id the provider needs is missing', async () => {
      expect(await failureOf(activities.retryPayment({ provider: 'stripe', paymentId: 'pi_1', idempotencyKey: 'k' }))).toMatchObject({
        nonRetryable: true,
        type: 'invalid_input',
      });
      expect(await failureOf(activities.retryPayment({ provider: 'gocardless', invoiceId: 'x', idempotencyKey: 'k' }))).toMatchObject({ type: 'invalid_input' });
    });
  });

  describe('getSubscription', () => {
    it('speaks one vocabulary for every provider', async () => {
      sandbox.seedMandate({ id: 'MD2', customerId: 'CU2' });
      sandbox.state.gocardless.seedSubscription({ id: 'SB2', mandateId: 'MD2' });
      const recurlySubscription = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'acct-2', state: 'canceled' });
      sandbox.state.stripe.seedSubscription({ id: 'sub_2', customerId: 'cus_2', status: 'past_due' });
      sandbox.state.billforward.seedSubscription({ id: 'SUB-2', accountId: 'ACC-2', frozen: true });
      sandbox.state.ccbill.seedSubscription({ id: '0200000002', statusCode: 0 });

      expect(await activities.getSubscription({ provider: 'gocardless', subscriptionId: 'SB2' })).toMatchObject({
        id: 'SB2',
        status: 'active',
        customerId: 'CU2',
        currentPeriodEnd: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/),
        cancelAtPeriodEnd: false,
      });
      expect(await activities.getSubscription({ provider: 'recurly', subscriptionId: recurlySubscription.uuid })).toMatchObject({
        id: recurlySubscription.uuid,
        status: 'active',
        customerId: 'acct-2',
        cancelAtPeriodEnd: true,
        providerStatus: 'canceled',
      });
      expect(await activities.getSubscription({ provider: 'stripe', subscriptionId: 'sub_2' })).toMatchObject({ status: 'past_due', customerId: 'cus_2' });
      expect(await activities.getSubscription({ provider: 'billforward', subscriptionId: 'SUB-2' })).toMatchObject({ status: 'paused', customerId: 'ACC-2' });
      expect(await activities.getSubscription({ provider: 'ccbill', subscriptionId: '0200000002' })).toMatchObject({
        status: 'expired',
        customerId: '0200000002',
      });
    });
  });

  describe('cancelSubscription', () => {
    it('cancels now on every provider, once', async () => {
      sandbox.seedMandate({ id: 'MD3', customerId: 'CU3' });
      sandbox.state.gocardless.seedSubscription({ id: 'SB3', mandateId: 'MD3' });
      const { uuid: recurlySubscription } = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'acct-3' });
      sandbox.state.stripe.seedSubscription({ id: 'sub_3', customerId: 'cus_3' });
      sandbox.state.billforward.seedSubscription({ id: 'SUB-3', accountId: 'ACC-3' });
      const cases = [
        ['gocardless', 'SB3', 'cancelled'],
        ['recurly', recurlySubscription, 'expired'],
        ['stripe', 'sub_3', 'cancelled'],
        ['billforward', 'SUB-3', 'cancelled'],
      ] as const;

      for (const [provider, subscriptionId, status] of cases) {
        const input = { provider, subscriptionId, idempotencyKey: `${provider}:${subscriptionId}:cancel` };
        expect(await activities.cancelSubscription(input)).toMatchObject({ id: subscriptionId, status });
        expect(await activities.cancelSubscription(input)).toMatchObject({ status });
        expect(posts(provider)).toHaveLength(1);
      }
    });

    it('at period end: Recurly cancels (not terminates), Stripe sets cancel_at_period_end, CCBill cancels', async () => {
      const { uuid: recurlySubscription } = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'acct-4' });
      sandbox.state.stripe.seedSubscription({ id: 'sub_4', customerId: 'cus_4' });
      sandbox.state.ccbill.seedSubscription({ id: '0200000004' });

      expect(await activities.cancelSubscription({ provider: 'recurly', subscriptionId: recurlySubscription, idempotencyKey: 'r', atPeriodEnd: true })).toMatchObject({
        status: 'active',
        cancelAtPeriodEnd: true,
        providerStatus: 'canceled',
      });
      expect(posts('recurly').map((request) => `${request.method} ${request.path}`)).toEqual([`PUT /recurly/subscriptions/uuid-${recurlySubscription}/cancel`]);
      expect(await activities.cancelSubscription({ provider: 'stripe', subscriptionId: 'sub_4', idempotencyKey: 's', atPeriodEnd: true })).toMatchObject({
        status: 'active',
        cancelAtPeriodEnd: true,
      });
      expect(await activities.cancelSubscription({ provider: 'ccbill', subscriptionId: '0200000004', idempotencyKey: 'c' })).toMatchObject({
        status: 'active',
        cancelAtPeriodEnd: true,
        providerStatus: 'cancelled',
      });

      // The period ends: each ends for good.
      sandbox.state.recurly.renew(recurlySubscription, 'succeed');
      sandbox.state.stripe.renew('sub_4', 'succeed');
      sandbox.state.ccbill.renew('0200000004', 'succeed');
      expect((await activities.getSubscription({ provider: 'recurly', subscriptionId: recurlySubscription })).status).toBe('expired');
      expect((await activities.getSubscription({ provider: 'stripe', subscriptionId: 'sub_4' })).status).toBe('cancelled');
      expect((await activities.getSubscription({ provider: 'ccbill', subscriptionId: '0200000004' })).status).toBe('expired');
    });
  });

  describe('resolvePaymentSubject', () => {
    it('finds the subscription, mandate and customer a payment or invoice belongs to', async () => {
      sandbox.seedMandate({ id: 'MD5', customerId: 'CU5' });
      sandbox.seedPayment({ id: 'PM5', mandateId: 'MD5', subscriptionId: 'SB5' });
      const recurlySubscription = sandbox.state.recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'acct-5' });
      sandbox.state.recurly.seedInvoice({ number: '5005', accountCode: 'acct-5', subscriptionId: recurlySubscription.id });
      const transaction = sandbox.state.recurly.seedTransaction({ uuid: recurlyUuid(), accountCode: 'acct-5', subscriptionUuid: recurlySubscription.uuid });
      sandbox.state.stripe.seedInvoice({ id: 'in_5', customerId: 'cus_5', subscriptionId: 'sub_5' });
      sandbox.state.stripe.seedInvoice({ id: 'in_6', customerId: 'cus_6' });
      sandbox.state.billforward.seedInvoice({ id: 'INV-5', accountId: 'ACC-5', subscriptionId: 'SUB-5' });

      expect(await activities.resolvePaymentSubject({ provider: 'gocardless', paymentId: 'PM5' })).toEqual({ subscriptionId: 'SB5', mandateId: 'MD5', customerId: 'CU5' });
      // Recurly: by the invoice number or the transaction uuid a webhook names, to the subscription's uuid its webhooks name.
      expect(await activities.resolvePaymentSubject({ provider: 'recurly', invoiceId: '5005' })).toEqual({ subscriptionId: recurlySubscription.uuid, customerId: 'acct-5' });
      expect(await activities.resolvePaymentSubject({ provider: 'recurly', paymentId: transaction.uuid })).toEqual({ subscriptionId: recurlySubscription.uuid, customerId: 'acct-5' });
      expect(await activities.resolvePaymentSubject({ provider: 'stripe', invoiceId: 'in_5' })).toEqual({ subscriptionId: 'sub_5', customerId: 'cus_5' });
      expect(await activities.resolvePaymentSubject({ provider: 'stripe', invoiceId: 'in_6' })).toEqual({ customerId: 'cus_6' });
      expect(await activities.resolvePaymentSubject({ provider: 'billforward', invoiceId: 'INV-5' })).toEqual({ subscriptionId: 'SUB-5', customerId: 'ACC-5' });
      expect(await failureOf(activities.resolvePaymentSubject({ provider: 'ccbill', paymentId: '1' }))).toMatchObject({ nonRetryable: true, type: 'unsupported' });
    });
  });

  describe('getPaymentStatus', () => {
    it('says whether the payment or invoice has been paid, as the provider sees it now', async () => {
      sandbox.seedMandate({ id: 'MD7', customerId: 'CU7' });
      sandbox.seedPayment({ id: 'PM7', mandateId: 'MD7', status: 'failed' });
      sandbox.seedPayment({ id: 'PM8', mandateId: 'MD7', status: 'paid_out' });
      sandbox.state.recurly.seedInvoice({ number: '7007', accountCode: 'acct-7' });
      sandbox.state.stripe.seedInvoice({ id: 'in_7', customerId: 'cus_7' });
      sandbox.state.billforward.seedInvoice({ id: 'INV-7', accountId: 'ACC-7' });
      const unpaid = [
        { provider: 'gocardless', paymentId: 'PM7' },
        { provider: 'recurly', invoiceId: '7007' },
        { provider: 'stripe', invoiceId: 'in_7' },
        { provider: 'billforward', invoiceId: 'INV-7' },
      ] as const;
      for (const input of unpaid) expect({ input, status: await activities.getPaymentStatus(input) }).toMatchObject({ input, status: { paid: false } });
      expect(await activities.getPaymentStatus({ provider: 'gocardless', paymentId: 'PM8' })).toEqual({ paid: true, writtenOff: false, chargedBack: false, providerStatus: 'paid_out' });

      // Paid meanwhile (a retry elsewhere, or the customer paying by hand): the read says so.
      for (const input of unpaid.slice(1)) await activities.retryPayment({ ...input, idempotencyKey: `pay-${input.provider}` });
      for (const input of unpaid.slice(1)) expect({ input, status: await activities.getPaymentStatus(input) }).toMatchObject({ input, status: { paid: true } });
      expect(await activities.getPaymentStatus({ provider: 'ccbill', paymentId: '123' })).toEqual({ providerStatus: 'unknown' });
      expect(await failureOf(activities.getPaymentStatus({ provider: 'stripe', paymentId: 'pi_1' }))).toMatchObject({ nonRetryable: true, type: 'invalid_input' });
    });
  });

  describe('getMandateStatus', () => {
    it('reads a GoCardless mandate and says whether it can still be charged', async () => {
      sandbox.seedMandate({ id: 'MD6', customerId: 'CU6', status: 'cancelled' });
      expect(await activities.getMandateStatus({ provider: 'gocardless', mandateId: 'MD6' })).toEqual({ id: 'MD6', status: 'cancelled', customerId: 'CU6', usable: false });
      expect(await failureOf(activities.getMandateStatus({ provider: 'stripe', mandateId: 'x' }))).toMatchObject({ nonRetryable: true, type: 'unsupported' });
    });
  });
});

describe('billing activities retried by Temporal itself', () => {
  let sandbox: ProviderSandbox;
  let database: Database;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let client: Client;
  const taskQueue = `billing-${randomUUID()}`;

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    database = await openDatabase({});
    // The failures below are deliberate: keep the SDK's warnings about them out of the output.
    routeTemporalLogs(pino({ level: 'silent' }));
    connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    worker = await Worker.create({
      connection,
      namespace: inject('temporalNamespace'),
      taskQueue,
      workflowsPath: path.resolve(__dirname, '../support/billing-workflows.ts'),
      activities: activitiesFor(sandbox, new AccountStore(database)),
    });
    running = worker.run();
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), namespace: inject('temporalNamespace') });
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await client?.connection.close();
    await database?.close();
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  const run = (workflow: string, input: unknown) =>
    client.workflow.execute(workflow, { taskQueue, workflowId: `test-${randomUUID()}`, args: [input] });

  it('a 5xx then success: Temporal retries with the same idempotency key and the invoice is charged once', async () => {
    sandbox.state.stripe.seedInvoice({ id: 'in_t1', customerId: 'cus_t1' });
    sandbox.failNext({ provider: 'stripe', status: 500, count: 2 });

    const result = await run('retryPaymentWorkflow', { provider: 'stripe', invoiceId: 'in_t1', idempotencyKey: 'wf-1:dunning-1:retry' });
    expect(result).toMatchObject({ outcome: 'paid' });
    const attempts = sandbox.requests.filter((request) => request.method === 'POST' || request.status === 500);
    // Two attempts failed on their first call (the check), the third checked and paid.
    expect(attempts.map((request) => request.status)).toEqual([500, 500, 200]);
    const pays = sandbox.requests.filter((request) => request.method === 'POST');
    expect(pays.map((request) => request.headers['idempotency-key'])).toEqual(['wf-1:dunning-1:retry']);
    expect(sandbox.state.stripe.invoices.get('in_t1')?.attemptCount).toBe(1);
  });

  it('a 5xx on the action itself: the retried action carries the same key and charges once', async () => {
    sandbox.state.recurly.seedInvoice({ number: '2222', accountCode: 'acct-t2' });
    sandbox.failNext({ provider: 'recurly', method: 'PUT', status: 503 });

    const result = await run('retryPaymentWorkflow', { provider: 'recurly', invoiceId: '2222', idempotencyKey: 'wf-2:dunning-1:retry' });
    expect(result).toMatchObject({ outcome: 'paid' });
    expect(sandbox.requests.map((request) => `${request.method} ${request.status} ${request.headers['idempotency-key'] ?? '-'}`)).toEqual([
      'GET 200 -',
      'PUT 503 wf-2:dunning-1:retry',
      'GET 200 -',
      'PUT 200 wf-2:dunning-1:retry',
    ]);
    expect(sandbox.state.recurly.transactions.size).toBe(1);
  });

  it('a 429 with Retry-After: Temporal waits as asked, then the retry succeeds', async () => {
    sandbox.state.billforward.seedSubscription({ id: 'SUB-t3', accountId: 'ACC-t3' });
    sandbox.failNext({ provider: 'billforward', status: 429, retryAfterSeconds: 1 });

    const started = Date.now();
    const result = await run('cancelSubscriptionWorkflow', { provider: 'billforward', subscriptionId: 'SUB-t3', idempotencyKey: 'wf-3:cancel' });
    expect(result).toMatchObject({ status: 'cancelled' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('a non-retryable failure ends the workflow\'s call at once, without retries', async () => {
    const error = await run('retryPaymentWorkflow', { provider: 'ccbill', paymentId: '1', idempotencyKey: 'wf-4' }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe('provider_retries_itself');
  });
});
