import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGoCardlessActivities } from '../../../src/providers/gocardless/api';
import { addInterval, goCardlessBilling } from '../../../src/providers/gocardless/billing';
import { failureFromErrorAnswer, retryDelayMs } from '../../../src/providers/http/failures';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { getFreePort } from '../../../src/free-port';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The failure a call rejected with; fails the test if it resolved or threw something else. */
async function failureOf(call: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await call.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('GoCardless client against the provider sandbox', () => {
  let sandbox: ProviderSandbox;
  let gocardless: ReturnType<typeof createGoCardlessActivities>;

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
    gocardless = createGoCardlessActivities({ apiUrl: sandbox.urls.gocardless, accessToken: sandbox.accessToken, timeoutMs: 2000 });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  beforeEach(() => {
    sandbox.reset();
  });

  it('lists a subscription\'s payments, the latest charge date first, and a cancelled subscription runs one interval from its last collected payment', async () => {
    sandbox.seedMandate({ id: 'MD000222', customerId: 'CU000222' });
    const { gocardless: state } = sandbox.state;
    state.seedSubscription({ id: 'SB000222', mandateId: 'MD000222', status: 'cancelled' });
    state.seedPayment({ id: 'PM0002221', mandateId: 'MD000222', subscriptionId: 'SB000222', status: 'paid_out', chargeDate: '2026-01-31' });
    state.seedPayment({ id: 'PM0002222', mandateId: 'MD000222', subscriptionId: 'SB000222', status: 'failed', chargeDate: '2026-02-28' });
    state.seedPayment({ id: 'PM0002223', mandateId: 'MD000222', status: 'paid_out', chargeDate: '2026-03-31' });

    const payments = await gocardless.listGoCardlessSubscriptionPayments({ subscriptionId: 'SB000222' });
    expect(payments.map((payment) => [payment.id, payment.chargeDate])).toEqual([['PM0002222', '2026-02-28'], ['PM0002221', '2026-01-31']]);
    expect(sandbox.requests.at(-1)?.path).toBe('/gocardless/payments');
    expect((await failureOf(gocardless.listGoCardlessSubscriptionPayments({ subscriptionId: 'SB000222', limit: 501 }))).type).toBe('validation_failed');

    const billing = goCardlessBilling(gocardless);
    // Paid on 31 January, monthly: paid for until the last day of February.
    expect(await billing.getSubscription('SB000222')).toMatchObject({ status: 'cancelled', currentPeriodEnd: '2026-02-28T00:00:00.000Z' });
  });

  it.each([
    ['2026-01-31', 'monthly', 1, '2026-02-28'],
    ['2028-01-31', 'monthly', 1, '2028-02-29'],
    ['2026-03-15', 'monthly', 3, '2026-06-15'],
    ['2026-12-28', 'weekly', 2, '2027-01-11'],
    ['2028-02-29', 'yearly', 1, '2029-02-28'],
  ])('%s + %s × %s = %s', (day, unit, count, expected) => {
    expect(addInterval(day, unit, count)).toBe(expected);
  });

  it('reads a mandate and sends the headers GoCardless requires', async () => {
    sandbox.seedMandate({ id: 'MD000111', customerId: 'CU000111', status: 'cancelled' });

    expect(await gocardless.getGoCardlessMandate('MD000111')).toEqual({ id: 'MD000111', status: 'cancelled', customerId: 'CU000111' });

    const [request] = sandbox.requests;
    expect(request).toMatchObject({ method: 'GET', path: '/gocardless/mandates/MD000111', status: 200 });
    expect(request?.headers).toMatchObject({ authorization: `Bearer ${sandbox.accessToken}`, 'gocardless-version': '2015-07-06' });
    expect(request?.headers['idempotency-key']).toBeUndefined();
  });

  it('reads a payment with the mandate and subscription it links to', async () => {
    sandbox.seedMandate({ id: 'MD000112', customerId: 'CU000112' });
    sandbox.seedPayment({ id: 'PM000112', mandateId: 'MD000112', subscriptionId: 'SB000112', status: 'failed', chargeDate: '2026-05-04' });

    expect(await gocardless.getGoCardlessPayment('PM000112')).toEqual({
      id: 'PM000112',
      status: 'failed',
      mandateId: 'MD000112',
      subscriptionId: 'SB000112',
      chargeDate: '2026-05-04',
    });
  });

  it('fails for good on 404, typed by the reason GoCardless gives and carrying its message', async () => {
    const failure = await failureOf(gocardless.getGoCardlessMandate('MD404'));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('resource_not_found');
    expect(failure.message).toBe('GoCardless GET /mandates/MD404 answered HTTP 404: Resource not found');
    expect(failure.details).toEqual([
      expect.objectContaining({ provider: 'GoCardless', status: 404, errorType: 'invalid_api_usage', requestId: expect.any(String) }),
    ]);
  });

  it('fails for good when the access token is wrong', async () => {
    sandbox.seedMandate({ id: 'MD000113', customerId: 'CU000113' });
    const impostor = createGoCardlessActivities({ apiUrl: sandbox.urls.gocardless, accessToken: 'not-the-token' });

    const failure = await failureOf(impostor.getGoCardlessMandate('MD000113'));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'access_token_not_found' });
    expect(failure.message).toContain('HTTP 401');
  });

  it('fails for good without calling out when no access token is configured', async () => {
    const unconfigured = createGoCardlessActivities({ apiUrl: sandbox.urls.gocardless, accessToken: '' });
    const failure = await failureOf(unconfigured.getGoCardlessMandate('MD000114'));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'missing_configuration' });
    expect(sandbox.requests).toHaveLength(0);
  });

  it('retries a 429 after the delay Retry-After asks for', async () => {
    sandbox.seedMandate({ id: 'MD000115', customerId: 'CU000115' });
    sandbox.failNext({ provider: 'gocardless', status: 429, retryAfterSeconds: 7 });

    const failure = await failureOf(gocardless.getGoCardlessMandate('MD000115'));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'rate_limit_exceeded', nextRetryDelay: 7000 });

    // The limit has passed: the retry Temporal would make now succeeds.
    expect((await gocardless.getGoCardlessMandate('MD000115')).status).toBe('active');
  });

  it.each([500, 502, 503])('retries a %i on the retry policy schedule', async (status) => {
    sandbox.seedMandate({ id: 'MD000116', customerId: 'CU000116' });
    sandbox.failNext({ status });

    const failure = await failureOf(gocardless.getGoCardlessMandate('MD000116'));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'internal_server_error' });
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(sandbox.requests[0]?.status).toBe(status);
  });

  it('retries a call that gets no answer in time', async () => {
    sandbox.seedMandate({ id: 'MD000117', customerId: 'CU000117' });
    sandbox.failNext({ hang: true });
    const impatient = createGoCardlessActivities({ apiUrl: sandbox.urls.gocardless, accessToken: sandbox.accessToken, timeoutMs: 150 });

    const started = Date.now();
    const failure = await failureOf(impatient.getGoCardlessMandate('MD000117'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failure).toMatchObject({ nonRetryable: false, type: 'timeout' });
    expect(failure.message).toBe('GoCardless GET /mandates/MD000117 got no answer within 150 ms');
  });

  it('retries when nothing listens at the API URL', async () => {
    const port = await getFreePort();
    const unreachable = createGoCardlessActivities({ apiUrl: `http://127.0.0.1:${port}`, accessToken: 'token' });

    const failure = await failureOf(unreachable.getGoCardlessMandate('MD000118'));
    expect(failure).toMatchObject({ nonRetryable: false, type: 'network_error' });
    expect(failure.message).toMatch(/ECONNREFUSED/);
  });

  it('retries a payment once when the activity repeats: GoCardless refuses the second retry, and the payment is read', async () => {
    sandbox.seedMandate({ id: 'MD000119', customerId: 'CU000119' });
    sandbox.seedPayment({ id: 'PM000119', mandateId: 'MD000119', status: 'failed' });
    const key = 'gocardless:payment:PM000119/retry-1';

    const first = await gocardless.retryGoCardlessPayment({ paymentId: 'PM000119', idempotencyKey: key });
    const second = await gocardless.retryGoCardlessPayment({ paymentId: 'PM000119', idempotencyKey: key });

    expect(first).toEqual({ id: 'PM000119', status: 'pending_submission', mandateId: 'MD000119', subscriptionId: null, chargeDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    expect(second).toEqual(first);
    expect(sandbox.state.gocardless.payments.get('PM000119')?.retries).toBe(1);
    // GoCardless keeps no key for actions: the second retry meets a payment no longer failed.
    expect(sandbox.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'POST /gocardless/payments/PM000119/actions/retry 200',
      'POST /gocardless/payments/PM000119/actions/retry 422',
      'GET /gocardless/payments/PM000119 200',
    ]);
    const posts = sandbox.requests.filter((request) => request.method === 'POST');
    expect(posts.map((request) => request.headers['idempotency-key'])).toEqual([key, key]);
    expect(posts.map((request) => request.path)).toEqual(['/gocardless/payments/PM000119/actions/retry', '/gocardless/payments/PM000119/actions/retry']);
    expect(posts[0]?.body).toEqual({ data: {} });
  });

  it('applies an action once when its first attempt met a server error', async () => {
    sandbox.seedMandate({ id: 'MD000120', customerId: 'CU000120' });
    sandbox.failNext({ status: 500 });
    const cancel = { mandateId: 'MD000120', idempotencyKey: 'gocardless:mandate:MD000120/cancel' };

    expect((await failureOf(gocardless.cancelGoCardlessMandate(cancel))).nonRetryable).toBe(false);
    expect(await gocardless.cancelGoCardlessMandate(cancel)).toEqual({ id: 'MD000120', status: 'cancelled', customerId: 'CU000120' });
    expect(await gocardless.cancelGoCardlessMandate(cancel)).toEqual({ id: 'MD000120', status: 'cancelled', customerId: 'CU000120' });
  });

  it('fails for good when GoCardless refuses to retry a payment that is still failed', async () => {
    sandbox.seedMandate({ id: 'MD000121', customerId: 'CU000121', status: 'cancelled' });
    sandbox.seedPayment({ id: 'PM000121', mandateId: 'MD000121', status: 'failed' });

    const failure = await failureOf(gocardless.retryGoCardlessPayment({ paymentId: 'PM000121', idempotencyKey: 'retry-inactive-mandate' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'retry_failed' });
    expect(failure.message).toContain('The mandate of this payment is not active');
  });

  it('answers a payment that is no longer failed as it is, instead of retrying it', async () => {
    sandbox.seedMandate({ id: 'MD000122', customerId: 'CU000122' });
    sandbox.seedPayment({ id: 'PM000122', mandateId: 'MD000122', status: 'paid_out' });

    expect(await gocardless.retryGoCardlessPayment({ paymentId: 'PM000122', idempotencyKey: 'retry-paid-out' })).toMatchObject({ status: 'paid_out' });
    expect(sandbox.requests.map((request) => request.status)).toEqual([422, 200]);
  });

  it('creates a payment once per key: the key again answers 409 idempotent_creation_conflict, and the payment it names is read', async () => {
    sandbox.seedMandate({ id: 'MD000123', customerId: 'CU000123' });
    const create = { mandateId: 'MD000123', amount: 2500, currency: 'GBP', description: 'One-off', idempotencyKey: 'gocardless:mandate:MD000123/charge-1' };

    const first = await gocardless.createGoCardlessPayment(create);
    const again = await gocardless.createGoCardlessPayment(create);

    expect(first).toMatchObject({ id: expect.stringMatching(/^PM[0-9A-Z]+$/), status: 'pending_submission', mandateId: 'MD000123' });
    expect(again).toEqual(first);
    expect(sandbox.state.gocardless.payments.size).toBe(1);
    expect(sandbox.requests.map((request) => `${request.method} ${request.path} ${request.status}`)).toEqual([
      'POST /gocardless/payments 201',
      'POST /gocardless/payments 409',
      `GET /gocardless/payments/${first.id} 200`,
    ]);
    expect(sandbox.requests[0]?.body).toEqual({ payments: { amount: 2500, currency: 'GBP', description: 'One-off', links: { mandate: 'MD000123' } } });

    // Another key is another payment.
    expect((await gocardless.createGoCardlessPayment({ ...create, idempotencyKey: 'gocardless:mandate:MD000123/charge-2' })).id).not.toBe(first.id);
  });

  it('fails for good on a creation conflict that names no resource, instead of retrying into it', async () => {
    const stub = createServer((_request, response) => {
      response.writeHead(409, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { type: 'invalid_state', code: 409, message: 'A resource has already been created with this idempotency key', errors: [{ reason: 'idempotent_creation_conflict', message: 'A resource has already been created with this idempotency key' }] } }));
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = stub.address() as AddressInfo;
      const client = createGoCardlessActivities({ apiUrl: `http://127.0.0.1:${port}`, accessToken: 'token' });
      const failure = await failureOf(client.createGoCardlessPayment({ mandateId: 'MD000124', amount: 100, currency: 'GBP', idempotencyKey: 'k' }));
      expect(failure).toMatchObject({ nonRetryable: true, type: 'idempotent_creation_conflict' });
    } finally {
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  it('refuses a creation GoCardless would refuse, field by field', async () => {
    const failure = await failureOf(gocardless.createGoCardlessPayment({ mandateId: 'MD000404', amount: 100, currency: 'GBP', idempotencyKey: 'k-404' }));
    expect(failure).toMatchObject({ nonRetryable: true, type: 'validation_failed' });
    expect(failure.details).toEqual([expect.objectContaining({ errors: [expect.objectContaining({ field: 'links.mandate' })] })]);
  });
});

describe('the provider sandbox, driven over HTTP from another process', () => {
  let sandbox: ProviderSandbox;
  const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${sandbox.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const asGoCardlessClient = (idempotencyKey?: string) => ({
    authorization: `Bearer ${sandbox.accessToken}`,
    'gocardless-version': '2015-07-06',
    ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
  });

  beforeAll(async () => {
    sandbox = await startProviderSandbox({ accessToken: 'sandbox-test-token' });
  });

  afterAll(async () => {
    await sandbox?.close();
  });

  it('seeds a mandate, moves it through cancel and reinstate, and lists what it received', async () => {
    const seeded = await send('POST', '/_sandbox/gocardless/mandates', { id: 'MD000201', customerId: 'CU000201' });
    expect(seeded.status).toBe(201);

    const cancelled = await send('POST', '/gocardless/mandates/MD000201/actions/cancel', { data: {} }, asGoCardlessClient('k-cancel'));
    expect((await cancelled.json()) as unknown).toMatchObject({ mandates: { id: 'MD000201', status: 'cancelled', links: { customer: 'CU000201' } } });
    // The same key again is no replay: GoCardless honours keys on creations only.
    const again = await send('POST', '/gocardless/mandates/MD000201/actions/cancel', { data: {} }, asGoCardlessClient('k-cancel'));
    expect(again.status).toBe(422);
    expect((await again.json()) as unknown).toMatchObject({ error: { type: 'invalid_state', errors: [{ reason: 'cancellation_failed' }] } });

    const reinstated = await send('POST', '/gocardless/mandates/MD000201/actions/reinstate', { data: {} }, asGoCardlessClient('k-reinstate'));
    expect((await reinstated.json()) as unknown).toMatchObject({ mandates: { status: 'submitted' } });

    const received = (await (await send('GET', '/_sandbox/requests?provider=gocardless')).json()) as { path: string; status: number }[];
    expect(received.map((request) => [request.path, request.status])).toEqual([
      ['/gocardless/mandates/MD000201/actions/cancel', 200],
      ['/gocardless/mandates/MD000201/actions/cancel', 422],
      ['/gocardless/mandates/MD000201/actions/reinstate', 200],
    ]);
  });

  it('sets a payment status and queues faults over HTTP', async () => {
    await send('POST', '/_sandbox/gocardless/mandates', { id: 'MD000202', customerId: 'CU000202' });
    await send('POST', '/_sandbox/gocardless/payments', { id: 'PM000202', mandateId: 'MD000202', status: 'confirmed' });
    expect((await send('PATCH', '/_sandbox/gocardless/payments/PM000202', { status: 'failed' })).status).toBe(200);
    expect((await send('POST', '/_sandbox/faults', { provider: 'gocardless', status: 429, retryAfterSeconds: 3, count: 2 })).status).toBe(204);

    for (let attempt = 0; attempt < 2; attempt++) {
      const limited = await send('GET', '/gocardless/payments/PM000202', undefined, asGoCardlessClient());
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('3');
    }
    const payment = await send('GET', '/gocardless/payments/PM000202', undefined, asGoCardlessClient());
    expect((await payment.json()) as unknown).toMatchObject({ payments: { id: 'PM000202', status: 'failed', links: { mandate: 'MD000202' } } });
  });

  it('refuses bad control calls and requests without the GoCardless version header', async () => {
    const invalid = await send('POST', '/_sandbox/gocardless/mandates', { status: 'nonsense' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: string }).error).toMatch(/customerId/);

    const unversioned = await send('GET', '/gocardless/mandates/MD000202', undefined, { authorization: `Bearer ${sandbox.accessToken}` });
    expect(unversioned.status).toBe(400);
    expect((await unversioned.json()) as unknown).toMatchObject({ error: { errors: [{ reason: 'missing_version_header' }] } });

    expect((await send('POST', '/_sandbox/reset')).status).toBe(204);
    expect(sandbox.requests).toHaveLength(0);
    expect(sandbox.state.gocardless.mandates.size).toBe(0);
  });
});

describe('HTTP failure classification', () => {
  const answer = (status: number, headers: Record<string, string> = {}) =>
    failureFromErrorAnswer({ provider: 'Example', operation: 'GET /thing', status, headers: new Headers(headers) });

  it.each([400, 401, 403, 404, 410, 422])('fails for good on %i', (status) => {
    expect(answer(status).nonRetryable).toBe(true);
  });

  it.each([409, 429, 500, 503, 504])('retries %i', (status) => {
    expect(answer(status).nonRetryable).toBe(false);
  });

  it('lets a provider\'s error code override what the status says', () => {
    const conflict = failureFromErrorAnswer({ provider: 'Example', operation: 'POST /things', status: 409, headers: new Headers(), retryable: false });
    expect(conflict.nonRetryable).toBe(true);
    const racing = failureFromErrorAnswer({ provider: 'Example', operation: 'PUT /things/1', status: 422, headers: new Headers(), retryable: true });
    expect(racing.nonRetryable).toBe(false);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(retryDelayMs(new Headers({ 'retry-after': '30' }), 503, now)).toBe(30_000);
    expect(retryDelayMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:00:45 GMT' }), 503, now)).toBe(45_000);
    expect(retryDelayMs(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 11:00:00 GMT' }), 503, now)).toBe(0);
    expect(retryDelayMs(new Headers({ 'retry-after': 'soon' }), 503, now)).toBeUndefined();
  });

  it('reads RateLimit-Reset, as GoCardless sends it, on a 429 only', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    const headers = new Headers({ 'ratelimit-reset': 'Sun, 01 Mar 2026 12:01:00 GMT' });
    expect(retryDelayMs(headers, 429, now)).toBe(60_000);
    expect(retryDelayMs(headers, 500, now)).toBeUndefined();
  });
});
