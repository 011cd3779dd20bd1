import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RECURLY_API_VERSION } from '../../../src/providers/recurly/api';
import { recurlyEventLog } from '../../../src/providers/recurly/event-log';
import { recurly as recurlyWebhook } from '../../../src/providers/recurly/webhook';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';
import { recurlyUuid } from '../../support/recurly';

type Listed = { object?: string; has_more?: boolean; next?: string | null; data?: { id: string; uuid?: string; updated_at: string }[]; error?: { type: string; message: string } };

describe("Recurly's sorted lists in the sandbox, and catch-up's reconciliation by state from them", () => {
  let sandbox: ProviderSandbox;
  const list = async (path: string) => {
    const response = await fetch(`${sandbox.urls.recurly}${path}`, {
      headers: { authorization: `Basic ${Buffer.from(`${sandbox.accessToken}:`).toString('base64')}`, accept: `application/vnd.recurly.${RECURLY_API_VERSION}` },
    });
    return { status: response.status, body: (await response.json()) as Listed };
  };
  const log = () => recurlyEventLog({ apiUrl: sandbox.urls.recurly, apiKey: sandbox.accessToken, timeoutMs: 5000 });
  const parsed = (events: Awaited<ReturnType<ReturnType<typeof log>['since']>>) =>
    events.flatMap((event) => recurlyWebhook.parse({ rawBody: Buffer.from(event.body), headers: { 'content-type': 'application/json', ...event.headers }, query: {}, ip: '127.0.0.1' }));

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.reset());

  it('pages a list sorted by updated_at with has_more and a next path holding its cursor and parameters, ties in one second included', async () => {
    const seeded = Array.from({ length: 45 }, (_, index) => sandbox.state.recurly.seedSubscription({ accountCode: `acct-${index}` }));
    const ids: string[] = [];
    let path: string | null | undefined = `/subscriptions?limit=20&order=asc&sort=updated_at&begin_time=${new Date(Date.now() - 60_000).toISOString()}`;
    let pages = 0;
    while (path) {
      const { status, body } = await list(path);
      expect(status).toBe(200);
      expect(body.object).toBe('list');
      ids.push(...(body.data ?? []).map(({ id }) => id));
      pages += 1;
      if (body.has_more) expect(body.next).toMatch(/^\/subscriptions\?cursor=.+&limit=20&order=asc&sort=updated_at&begin_time=/);
      else expect(body.next).toBeNull();
      path = body.has_more ? body.next : undefined;
    }
    expect(pages).toBe(3);
    expect(ids.sort()).toEqual(seeded.map(({ id }) => id).sort());
    // begin_time is inclusive, and filters on the sorted field.
    const future = await list(`/subscriptions?sort=updated_at&order=asc&begin_time=${new Date(Date.now() + 5000).toISOString()}`);
    expect(future.body.data).toEqual([]);
  });

  it('in ascending order a record changed while the pages are read is listed again later; in descending order it is skipped, as Recurly warns', async () => {
    for (let index = 0; index < 5; index += 1) sandbox.state.recurly.seedSubscription({ accountCode: `early-${index}` });
    const since = new Date(Date.now() - 60_000).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    sandbox.state.recurly.seedSubscription({ accountCode: 'later' });
    const change = (id: string) => sandbox.state.recurly.seedSubscription({ id, accountCode: sandbox.state.recurly.subscriptions.get(id)!.accountCode, state: 'canceled' });
    const restOf = async (next: string | null | undefined) => {
      const ids: string[] = [];
      for (let path = next; path; ) {
        const page = await list(path);
        ids.push(...(page.body.data ?? []).map(({ id }) => id));
        path = page.body.has_more ? page.body.next : null;
      }
      return ids;
    };

    const ascending = await list(`/subscriptions?limit=2&order=asc&sort=updated_at&begin_time=${since}`);
    const [movedAhead] = (ascending.body.data ?? []).map(({ id }) => id);
    // Changed a second later: it moves to the end of the ascending list, ahead of the cursor.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    change(movedAhead!);
    expect((await restOf(ascending.body.next)).at(-1)).toBe(movedAhead);

    const descending = await list(`/subscriptions?limit=2&order=desc&sort=updated_at&begin_time=${since}`);
    const read = new Set((descending.body.data ?? []).map(({ id }) => id));
    const movedBehind = [...sandbox.state.recurly.subscriptions.keys()].find((id) => !read.has(id));
    // Not read yet, changed now: newer than the page already read, behind the descending cursor, never listed.
    change(movedBehind!);
    const later = await restOf(descending.body.next);
    expect(later).toHaveLength(3);
    expect(later).not.toContain(movedBehind);
  });

  it.each([
    ['/subscriptions?limit=201', 'limit'],
    ['/subscriptions?limit=0', 'limit'],
    ['/subscriptions?sort=state', 'sort'],
    ['/subscriptions?order=up', 'order'],
    ['/invoices?sort=updated_at&begin_time=yesterday', 'begin_time'],
    ['/invoices?cursor=not-a-cursor', 'cursor'],
    ['/subscriptions?ids=a1,b2&limit=20', 'ids'],
  ])('refuses %s with a 400 in its error envelope', async (path, named) => {
    const answer = await list(path);
    expect(answer.status).toBe(400);
    expect(answer.body.error?.type).toBe('bad_request');
    expect(answer.body.error?.message).toContain(named);
  });

  it('makes each changed record\'s state into the notification Recurly sends for it, with an id of the record and its state', async () => {
    const recurly = sandbox.state.recurly;
    const since = new Date(Date.now() - 60_000);
    const canceled = recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'canceled', state: 'canceled' });
    const expired = recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'expired', state: 'expired' });
    const paused = recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'paused', state: 'paused' });
    recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'new', state: 'active' });
    const renewed = recurly.seedSubscription({ uuid: recurlyUuid(), accountCode: 'renewed', state: 'active', periodEndsAt: new Date(Date.now() + 5000).toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const { invoice: renewal } = recurly.renew(renewed.id, 'decline');
    const paid = recurly.seedInvoice({ accountCode: 'canceled', state: 'paid' });
    recurly.seedInvoice({ accountCode: 'canceled', state: 'pending' });
    const voided = recurly.seedInvoice({ accountCode: 'expired', state: 'voided' });

    const events = await log().since(since);
    const kinds = parsed(events).map((event) => [event.type, event.kind, event.references.subscription ?? event.references.invoice, event.references.account]);
    expect(kinds).toEqual(expect.arrayContaining([
      ['subscription.canceled', 'subscription.cancelled', canceled.uuid, 'canceled'],
      ['subscription.expired', 'subscription.expired', expired.uuid, 'expired'],
      ['subscription.paused', 'subscription.paused', paused.uuid, 'paused'],
      ['subscription.renewed', 'subscription.renewed', renewed.uuid, 'renewed'],
      ['subscription.resumed', 'subscription.resumed', renewed.uuid, 'renewed'],
      ['invoice.past_due', 'payment.failed', renewal?.number, 'renewed'],
      ['invoice.closed', 'invoice.closed', paid.number, 'canceled'],
      ['invoice.closed', 'invoice.closed', voided.number, 'expired'],
    ]));
    // A subscription in its first period and a pending invoice stand for nothing yet.
    expect(kinds).toHaveLength(8);
    expect(events.map(({ createdAtMs }) => createdAtMs)).toEqual([...events.map(({ createdAtMs }) => createdAtMs)].sort((a, b) => a - b));
    const canceledEvent = parsed(events).find((event) => event.references.subscription === canceled.uuid);
    expect(canceledEvent?.id).toMatch(new RegExp(`^recurly-state:subscription:${canceled.uuid}:canceled:`));
    const renewedEvent = parsed(events).find((event) => event.type === 'subscription.renewed');
    expect(renewedEvent?.occurredAt).toBe(recurly.subscriptions.get(renewed.id)?.periodStartedAt);

    // Listed again, the same states give the same ids; a change of state gives a new one.
    expect((await log().since(since)).map(({ id }) => id)).toEqual(events.map(({ id }) => id));
    recurly.seedSubscription({ id: canceled.id, accountCode: 'canceled', state: 'canceled' });
    expect((await log().since(since)).find(({ body }) => body.includes(canceled.uuid))?.id).toBe(canceledEvent?.id);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    recurly.seedSubscription({ id: canceled.id, accountCode: 'canceled', state: 'expired' });
    const afterExpiry = parsed(await log().since(since)).filter((event) => event.references.subscription === canceled.uuid);
    expect(afterExpiry.map(({ kind }) => kind)).toEqual(['subscription.expired']);
  });

  it('reads every page of both lists since a time', async () => {
    const since = new Date(Date.now() - 60_000);
    for (let index = 0; index < 450; index += 1) sandbox.state.recurly.seedSubscription({ accountCode: `acct-${index}`, state: 'canceled' });
    const events = await log().since(since);
    expect(events).toHaveLength(450);
    expect(new Set(events.map(({ id }) => id)).size).toBe(450);
    const asked = sandbox.requests.filter((request) => request.path === '/recurly/subscriptions');
    expect(asked).toHaveLength(3);
  });

  it('fails as Recurly\'s answer says: a wrong key is a final failure', async () => {
    const failure = await failureOf(recurlyEventLog({ apiUrl: sandbox.urls.recurly, apiKey: 'wrong', timeoutMs: 5000 }).since(new Date()));
    expect(failure.nonRetryable).toBe(true);
  });
});
