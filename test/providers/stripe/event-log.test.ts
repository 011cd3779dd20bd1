import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stripeEventLog } from '../../../src/providers/stripe/event-log';
import { stripe as stripeWebhook } from '../../../src/providers/stripe/webhook';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

const nowSeconds = () => Math.floor(Date.now() / 1000);

function event(id: string, type: string, created: number): Record<string, unknown> {
  return {
    id,
    object: 'event',
    type,
    created,
    api_version: '2025-03-31.basil',
    livemode: false,
    data: { object: { id: 'in_1', object: 'invoice', customer: 'cus_1', status: 'open', parent: { subscription_details: { subscription: 'sub_1' } } } },
  };
}

describe("Stripe's event list (GET /v1/events) in the sandbox, read by catch-up", () => {
  let sandbox: ProviderSandbox;
  const list = async (query: string) => {
    const response = await fetch(`${sandbox.url}/v1/events?${query}`, { headers: { authorization: `Bearer ${sandbox.accessToken}` } });
    return { status: response.status, body: (await response.json()) as { data: { id: string }[]; has_more: boolean; error?: { message: string; param?: string; code?: string } } };
  };

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.reset());

  it('lists what it was told happened, newest first, paged back with starting_after and forward with ending_before', async () => {
    const start = nowSeconds() - 100;
    for (let index = 0; index < 5; index += 1) sandbox.state.stripe.recordEvent(event(`evt_${index}`, 'invoice.payment_failed', start + index));
    const first = await list('limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ object: 'list', url: '/v1/events', has_more: true });
    expect(first.body.data.map(({ id }) => id)).toEqual(['evt_4', 'evt_3']);
    const second = await list('limit=2&starting_after=evt_3');
    expect(second.body.data.map(({ id }) => id)).toEqual(['evt_2', 'evt_1']);
    expect(second.body.has_more).toBe(true);
    expect((await list('limit=2&starting_after=evt_1')).body).toMatchObject({ has_more: false, data: [{ id: 'evt_0' }] });
    expect((await list('limit=2&ending_before=evt_1')).body.data.map(({ id }) => id)).toEqual(['evt_3', 'evt_2']);
    expect((await list(`created[gte]=${start + 3}`)).body.data.map(({ id }) => id)).toEqual(['evt_4', 'evt_3']);
    expect((await list(`created[lt]=${start + 1}`)).body.data.map(({ id }) => id)).toEqual(['evt_0']);
  });

  it('filters by types[] or by a type with a wildcard, and keeps 30 days only', async () => {
    sandbox.state.stripe.recordEvent(event('evt_paid', 'invoice.paid', nowSeconds()));
    sandbox.state.stripe.recordEvent(event('evt_failed', 'invoice.payment_failed', nowSeconds()));
    sandbox.state.stripe.recordEvent(event('evt_sub', 'customer.subscription.updated', nowSeconds()));
    sandbox.state.stripe.recordEvent(event('evt_old', 'invoice.paid', nowSeconds() - 31 * 86_400));
    expect((await list('types[0]=invoice.paid&types[1]=customer.subscription.updated')).body.data.map(({ id }) => id).sort()).toEqual(['evt_paid', 'evt_sub']);
    expect((await list('type=invoice.*')).body.data.map(({ id }) => id).sort()).toEqual(['evt_failed', 'evt_paid']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['created[gte]=yesterday', 'created[gte]'],
    ['type=invoice.paid&types[0]=invoice.paid', 'types'],
    ['starting_after=evt_a&ending_before=evt_b', 'starting_after'],
    ['not_a_parameter=1', 'not_a_parameter'],
  ])('refuses %s with a 400 in Stripe\'s envelope, naming %s', async (query, param) => {
    const { status, body } = await list(query);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ param });
  });

  it('refuses a cursor naming no event', async () => {
    const { status, body } = await list('starting_after=evt_missing');
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: 'resource_missing', param: 'starting_after' });
  });

  it('catch-up reads every page since a time, oldest first, as bodies the webhook parser reads with the same ids', async () => {
    const start = nowSeconds() - 1000;
    // More than one page of Stripe's largest (100), and an event before the time that must not come.
    for (let index = 0; index < 230; index += 1) sandbox.state.stripe.recordEvent(event(`evt_${String(index).padStart(4, '0')}`, 'invoice.payment_failed', start + index));
    sandbox.state.stripe.recordEvent(event('evt_before', 'invoice.paid', start - 10));
    sandbox.state.stripe.recordEvent(event('evt_unhandled', 'customer.created', start + 5));
    const log = stripeEventLog({ apiUrl: sandbox.urls.stripe, apiKey: sandbox.accessToken });
    const read = await log.since(new Date(start * 1000));
    expect(read.map(({ id }) => id)).toEqual(Array.from({ length: 230 }, (_, index) => `evt_${String(index).padStart(4, '0')}`));
    expect(sandbox.requests.filter((request) => request.path === '/stripe/v1/events')).toHaveLength(3);
    const [first] = read;
    const [parsed] = stripeWebhook.parse({ rawBody: Buffer.from(first?.body ?? ''), headers: { 'content-type': 'application/json' }, query: {}, ip: '127.0.0.1' });
    expect(parsed).toMatchObject({ id: 'evt_0000', kind: 'payment.failed', references: { subscription: 'sub_1' } });
    expect(first?.createdAtMs).toBe(start * 1000);
  });

  it('fails for good on a refused key, and is retried on a 5xx', async () => {
    const refused = stripeEventLog({ apiUrl: sandbox.url, apiKey: 'sk_wrong' });
    expect(await failureOf(refused.since(new Date()))).toMatchObject({ nonRetryable: true });
    sandbox.failNext({ provider: 'stripe', status: 503 });
    const log = stripeEventLog({ apiUrl: sandbox.url, apiKey: sandbox.accessToken });
    expect(await failureOf(log.since(new Date()))).toMatchObject({ nonRetryable: false });
  });
});
