import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { nextCursor } from '../../../src/catch-up/sweep';
import { billForwardEventLog } from '../../../src/providers/billforward/event-log';
import { billforward as billForwardWebhook } from '../../../src/providers/billforward/webhook';
import { startProviderSandbox, type ProviderSandbox } from '../../../src/testing/sandbox/server';
import { failureOf } from '../../support/failures';

describe("BillForward's notification API (GET /notifications/{lower}/{upper}) in the sandbox, read by catch-up", () => {
  let sandbox: ProviderSandbox;
  const list = async (lower: string, upper: string, query = '') => {
    const response = await fetch(`${sandbox.urls.billforward}/notifications/${encodeURIComponent(lower)}/${encodeURIComponent(upper)}?${query}`, { headers: { authorization: `Bearer ${sandbox.accessToken}` } });
    return { status: response.status, body: (await response.json()) as { results?: { id: string; created: string }[]; recordsReturned?: number; errorType?: string; errorParameters?: string[] } };
  };
  const notify = (id: string, createdAt: Date) => {
    const notification = sandbox.state.billforward.seedNotification({
      id,
      domain: 'Subscription',
      action: 'Cancelled',
      entityId: 'SUB-1',
      entity: { '@type': 'subscription', id: 'SUB-1', versionID: 'SUB-1', accountID: 'ACC-1', state: 'Cancelled' },
    });
    notification.created = createdAt.toISOString();
  };
  const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

  beforeAll(async () => {
    sandbox = await startProviderSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox.reset());

  it('lists the notifications of a period, newest first by default, oldest first when asked, paged with offset and records', async () => {
    const start = Date.now() - 60_000;
    for (let index = 0; index < 5; index += 1) notify(`NOT-${index}`, new Date(start + index * 1000));
    const newest = await list(hourAgo(), new Date().toISOString());
    expect(newest.status).toBe(200);
    expect(newest.body.results?.map(({ id }) => id)).toEqual(['NOT-4', 'NOT-3', 'NOT-2', 'NOT-1', 'NOT-0']);
    const page = await list(hourAgo(), new Date().toISOString(), 'order_by=created&order=ASC&offset=1&records=2');
    expect(page.body.results?.map(({ id }) => id)).toEqual(['NOT-1', 'NOT-2']);
    expect(page.body.recordsReturned).toBe(2);
    expect((await list(new Date(start + 3000).toISOString(), new Date().toISOString())).body.results?.map(({ id }) => id)).toEqual(['NOT-4', 'NOT-3']);
  });

  it('leaves out what is younger than its safety margin (10 s by default)', async () => {
    notify('NOT-FRESH', new Date());
    expect((await list(hourAgo(), new Date().toISOString())).body.results).toEqual([]);
    expect((await list(hourAgo(), new Date().toISOString(), 'safety_margin=0')).body.results?.map(({ id }) => id)).toEqual(['NOT-FRESH']);
  });

  it.each([
    ['yesterday', new Date().toISOString(), '', 'lower-threshold'],
    [new Date().toISOString(), 'soon', '', 'upper-threshold'],
    [new Date().toISOString(), new Date().toISOString(), 'order=UP', 'order'],
    [new Date().toISOString(), new Date().toISOString(), 'records=0', 'records'],
    [new Date().toISOString(), new Date().toISOString(), 'offset=-1', 'offset'],
  ])('refuses %s … %s %s with a 400 naming %s', async (lower, upper, query, parameter) => {
    const { status, body } = await list(lower, upper, query);
    expect(status).toBe(400);
    expect(body.errorParameters).toEqual([parameter]);
  });

  it('catch-up reads every page since a time, oldest first, as the bodies the webhook parser reads with the same ids', async () => {
    const start = Date.now() - 1_000_000;
    for (let index = 0; index < 230; index += 1) notify(`NOT-${String(index).padStart(4, '0')}`, new Date(start + index * 1000));
    notify('NOT-BEFORE', new Date(start - 5000));
    const read = await billForwardEventLog({ apiUrl: sandbox.urls.billforward, accessToken: sandbox.accessToken }).since(new Date(start));
    expect(read.map(({ id }) => id)).toEqual(Array.from({ length: 230 }, (_, index) => `NOT-${String(index).padStart(4, '0')}`));
    const [parsed] = billForwardWebhook.parse({ rawBody: Buffer.from(read[0]?.body ?? ''), headers: { 'content-type': 'application/json' }, query: {}, ip: '127.0.0.1' });
    expect(parsed).toMatchObject({ id: 'NOT-0000', kind: 'subscription.cancelled', references: { subscription: 'SUB-1' } });
  });

  it('catch-up leaves BillForward\'s safety margin at its documented default: what is younger is read by the next sweep, the cursor staying further behind', async () => {
    const start = Date.now() - 60_000;
    notify('NOT-SETTLED', new Date(start));
    notify('NOT-YOUNG', new Date(Date.now() - 2000));
    const first = await billForwardEventLog({ apiUrl: sandbox.urls.billforward, accessToken: sandbox.accessToken }).since(new Date(start));
    expect(first.map(({ id }) => id)).toEqual(['NOT-SETTLED']);
    const cursor = nextCursor({ since: new Date(start).toISOString(), seen: [] }, first);
    expect(Date.parse(cursor.since)).toBeLessThanOrEqual(Date.now() - 2000);
    expect(cursor.seen).toEqual(['NOT-SETTLED']);
  });

  it('fails for good on a refused token', async () => {
    expect(await failureOf(billForwardEventLog({ apiUrl: sandbox.urls.billforward, accessToken: 'wrong' }).since(new Date()))).toMatchObject({ nonRetryable: true });
  });
});
