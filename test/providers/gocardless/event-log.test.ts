import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { goCardlessEventLog } from '../../../src/providers/gocardless/event-log';
import { gocardless as goCardlessWebhook } from '../../../src/providers/gocardless/webhook';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

function event(id: string, createdAt: Date, action = 'cancelled'): Record<string, unknown> {
  return {
    id,
    created_at: createdAt.toISOString(),
    resource_type: 'mandates',
    action,
    links: { mandate: 'MD000TEST' },
    details: { origin: 'bank', cause: `mandate_${action}`, description: 'test' },
    metadata: {},
  };
}

type Listed = { events?: { id: string }[]; meta?: { cursors: { before: string | null; after: string | null }; limit: number }; error?: { type: string; errors: { reason?: string; field?: string }[] } };

describe("GoCardless's event list (GET /events) in the sandbox, read by catch-up", () => {
  let sandbox: ProviderSandbox;
  const list = async (query: string) => {
    const response = await fetch(`${sandbox.urls.gocardless}/events?${query}`, { headers: { authorization: `Bearer ${sandbox.accessToken}`, 'gocardless-version': '2015-07-06' } });
    return { status: response.status, body: (await response.json()) as Listed };
  };
  const ids = (body: Listed) => body.events?.map(({ id }) => id);

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.reset());

  it('lists what it was told happened, newest first, with after and before cursors', async () => {
    const start = Date.now() - 60_000;
    for (let index = 0; index < 5; index += 1) sandbox.state.gocardless.recordEvent(event(`EV00${index}`, new Date(start + index * 1000)));
    const first = await list('limit=2');
    expect(first.status).toBe(200);
    expect(ids(first.body)).toEqual(['EV004', 'EV003']);
    expect(first.body.meta).toEqual({ cursors: { before: null, after: 'EV003' }, limit: 2 });
    const second = await list('limit=2&after=EV003');
    expect(ids(second.body)).toEqual(['EV002', 'EV001']);
    expect(second.body.meta?.cursors).toEqual({ before: 'EV002', after: 'EV001' });
    const last = await list('limit=2&after=EV001');
    expect(ids(last.body)).toEqual(['EV000']);
    expect(last.body.meta?.cursors.after).toBeNull();
    expect(ids((await list('limit=2&before=EV001')).body)).toEqual(['EV003', 'EV002']);
    expect(ids((await list(`created_at[gte]=${new Date(start + 3000).toISOString()}`)).body)).toEqual(['EV004', 'EV003']);
    expect(ids((await list('limit=50')).body)).toHaveLength(5);
  });

  it('filters by action, resource type and linked resource', async () => {
    sandbox.state.gocardless.recordEvent(event('EV0A', new Date(), 'cancelled'));
    sandbox.state.gocardless.recordEvent(event('EV0B', new Date(), 'created'));
    sandbox.state.gocardless.recordEvent({ ...event('EV0C', new Date(), 'failed'), resource_type: 'payments', links: { payment: 'PM0001' } });
    expect(ids((await list('action=cancelled')).body)).toEqual(['EV0A']);
    expect(ids((await list('resource_type=payments')).body)).toEqual(['EV0C']);
    expect(ids((await list('payment=PM0001')).body)).toEqual(['EV0C']);
  });

  it.each([
    ['limit=501', 422, 'validation_failed'],
    ['limit=0', 422, 'validation_failed'],
    ['created_at[gte]=yesterday', 422, 'validation_failed'],
    ['after=EV0MISSING', 400, 'invalid_api_usage'],
    ['after=EV1&before=EV2', 400, 'invalid_api_usage'],
    ['sort=asc', 400, 'invalid_api_usage'],
  ])('refuses %s (%i %s) in its error envelope', async (query, status, type) => {
    const answer = await list(query);
    expect(answer.status).toBe(status);
    expect(answer.body.error?.type).toBe(type);
  });

  it('catch-up reads every page since a time, oldest first, each a batch of one the webhook parser reads with the same id', async () => {
    const start = Date.now() - 2_000_000;
    for (let index = 0; index < 1100; index += 1) sandbox.state.gocardless.recordEvent(event(`EV${String(index).padStart(5, '0')}`, new Date(start + index * 1000)));
    sandbox.state.gocardless.recordEvent(event('EVBEFORE', new Date(start - 5000)));
    const log = goCardlessEventLog({ apiUrl: sandbox.urls.gocardless, accessToken: sandbox.accessToken });
    const read = await log.since(new Date(start));
    expect(read.map(({ id }) => id)).toEqual(Array.from({ length: 1100 }, (_, index) => `EV${String(index).padStart(5, '0')}`));
    expect(sandbox.requests.filter((request) => request.path === '/gocardless/events')).toHaveLength(3);
    const [parsed] = goCardlessWebhook.parse({ rawBody: Buffer.from(read[0]?.body ?? ''), headers: { 'content-type': 'application/json' }, query: {}, ip: '127.0.0.1' });
    expect(parsed).toMatchObject({ id: 'EV00000', kind: 'mandate.cancelled', references: { mandate: 'MD000TEST' } });
  });

  it('fails for good on a refused token, and is retried on a 5xx', async () => {
    expect(await failureOf(goCardlessEventLog({ apiUrl: sandbox.urls.gocardless, accessToken: 'wrong' }).since(new Date()))).toMatchObject({ nonRetryable: true });
    sandbox.failNext({ provider: 'gocardless', status: 500 });
    expect(await failureOf(goCardlessEventLog({ apiUrl: sandbox.urls.gocardless, accessToken: sandbox.accessToken }).since(new Date()))).toMatchObject({ nonRetryable: false });
  });
});
