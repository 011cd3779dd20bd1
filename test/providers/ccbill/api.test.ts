import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCCBillActivities, type CCBillOptions } from '../../../src/providers/ccbill/api';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

describe('CCBill DataLink client against the provider sandbox', () => {
  let sandbox: ProviderSandbox;
  let options: CCBillOptions;
  let ccbill: ReturnType<typeof createCCBillActivities>;
  const queries = () => sandbox.requests.filter((request) => request.provider === 'ccbill');

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    options = {
      datalinkUrl: sandbox.urls.ccbill,
      username: sandbox.state.ccbill.credentials.username,
      password: sandbox.state.ccbill.credentials.password,
      clientAccnum: sandbox.state.ccbill.credentials.clientAccnum,
      clientSubacc: sandbox.state.ccbill.credentials.clientSubacc,
      timeoutMs: 2000,
    };
    ccbill = createCCBillActivities(options);
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  it('views an active subscription, parsing DataLink XML and its YYYYMMDD dates', async () => {
    const seeded = sandbox.state.ccbill.seedSubscription({ id: '0100000001' });
    const status = await ccbill.viewCCBillSubscriptionStatus('0100000001');
    const iso = (ymd: string) => `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}T00:00:00Z`;
    expect(status).toEqual({
      subscriptionId: '0100000001',
      status: 'active',
      statusCode: 2,
      recurring: true,
      signupDate: iso(seeded.signupDate),
      expirationDate: iso(seeded.expirationDate),
      nextRenewalDate: iso(seeded.nextRenewalDate),
      timesRebilled: 0,
    });
    expect(queries()[0]).toMatchObject({ method: 'GET', path: '/ccbill/utils/subscriptionManagement.cgi', status: 200 });
  });

  it('cancels once: a repeated cancel reads the status and sends no second cancel', async () => {
    sandbox.state.ccbill.seedSubscription({ id: '0100000002' });

    const cancelled = await ccbill.cancelCCBillSubscription({ subscriptionId: '0100000002' });
    expect(cancelled).toMatchObject({ status: 'cancelled', statusCode: 1, cancelDate: expect.any(String) });
    expect(await ccbill.cancelCCBillSubscription({ subscriptionId: '0100000002' })).toMatchObject({ status: 'cancelled' });
    // view, cancel, view — then view only.
    expect(queries()).toHaveLength(4);
    expect(sandbox.state.ccbill.subscriptions.get('0100000002')?.statusCode).toBe(1);
  });

  it('runs a cancelled subscription to expiry on renewal, then reports it inactive', async () => {
    sandbox.state.ccbill.seedSubscription({ id: '0100000003', statusCode: 1 });
    sandbox.state.ccbill.renew('0100000003', 'succeed');
    expect(await ccbill.viewCCBillSubscriptionStatus('0100000003')).toMatchObject({ status: 'inactive', statusCode: 0 });
  });

  it('fails for good on an unknown subscription (-3) and on wrong credentials (-1)', async () => {
    const missing = await failureOf(ccbill.viewCCBillSubscriptionStatus('0999999999'));
    expect(missing).toMatchObject({ nonRetryable: true, type: 'subscription_not_found' });
    expect(missing.message).toBe('CCBill viewSubscriptionStatus 0999999999 answered -3: no record was found for the subscription');

    const impostor = createCCBillActivities({ ...options, password: 'wrong' });
    expect(await failureOf(impostor.viewCCBillSubscriptionStatus('0999999999'))).toMatchObject({ nonRetryable: true, type: 'authentication_failed' });
  });

  it('never puts the password in a failure message', async () => {
    const failure = await failureOf(ccbill.viewCCBillSubscriptionStatus('0999999999'));
    expect(JSON.stringify({ message: failure.message, details: failure.details })).not.toContain(sandbox.state.ccbill.credentials.password);
  });

  it('fails for good without calling out when DataLink is not configured, or the id is not CCBill\'s', async () => {
    const unconfigured = createCCBillActivities({ ...options, username: '', password: '' });
    expect(await failureOf(unconfigured.viewCCBillSubscriptionStatus('0100000004'))).toMatchObject({ nonRetryable: true, type: 'missing_configuration' });
    expect(await failureOf(ccbill.viewCCBillSubscriptionStatus('../etc'))).toMatchObject({ nonRetryable: true, type: 'invalid_input' });
    expect(sandbox.requests).toHaveLength(0);
  });

  it('reads the CSV answer DataLink gives without returnXML, should it ignore the flag', async () => {
    sandbox.state.ccbill.seedSubscription({ id: '0100000005' });
    const url = new URL(sandbox.urls.ccbill);
    url.search = new URLSearchParams({ ...sandbox.state.ccbill.credentials, action: 'viewSubscriptionStatus', subscriptionId: '0100000005' }).toString();
    const csv = await (await fetch(url)).text();
    expect(csv.split('\n')[0]).toContain('"subscriptionStatus"');

    // A DataLink answering CSV whatever is asked: the same status comes out.
    const server = createServer((_request, response) => response.end(csv));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const csvOnly = createCCBillActivities({ ...options, datalinkUrl: `http://127.0.0.1:${port}/utils/subscriptionManagement.cgi` });
      expect(await csvOnly.viewCCBillSubscriptionStatus('0100000005')).toEqual(await ccbill.viewCCBillSubscriptionStatus('0100000005'));
    } finally {
      server.close();
    }
  });

  it('retries a 429 after the delay Retry-After asks for, then succeeds', async () => {
    sandbox.state.ccbill.seedSubscription({ id: '0100000006' });
    sandbox.failNext({ provider: 'ccbill', status: 429, retryAfterSeconds: 4 });
    expect(await failureOf(ccbill.viewCCBillSubscriptionStatus('0100000006'))).toMatchObject({ nonRetryable: false, type: 'http_429', nextRetryDelay: 4000 });
    expect((await ccbill.viewCCBillSubscriptionStatus('0100000006')).status).toBe('active');
  });

  it('retries a 5xx met while cancelling; the retry finds the state and cancels once', async () => {
    sandbox.state.ccbill.seedSubscription({ id: '0100000007' });
    sandbox.failNext({ provider: 'ccbill', status: 500 });
    expect(await failureOf(ccbill.cancelCCBillSubscription({ subscriptionId: '0100000007' }))).toMatchObject({ nonRetryable: false });
    expect((await ccbill.cancelCCBillSubscription({ subscriptionId: '0100000007' })).status).toBe('cancelled');
    expect(queries().map((query) => query.status)).toEqual([500, 200, 200, 200]);
  });

  it('retries a call that gets no answer in time', async () => {
    sandbox.failNext({ provider: 'ccbill', hang: true });
    const impatient = createCCBillActivities({ ...options, timeoutMs: 150 });
    const failure = await failureOf(impatient.viewCCBillSubscriptionStatus('0100000008'));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'timeout' });
    expect(failure.message).toBe('CCBill viewSubscriptionStatus 0100000008 got no answer within 150 ms');
  });
});
