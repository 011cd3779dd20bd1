import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { billforward } from '../../../src/providers/billforward/webhook';
import { basic, fixture, parseError, parseOne, rejection, request } from '../helpers';

const root = path.join(__dirname, '../../fixtures/billforward/bf-java');
const files = readdirSync(root).flatMap((folder) => readdirSync(path.join(root, folder)).map((name) => `bf-java/${folder}/${name}`));
const settings = { basicAuth: [{ user: 'billforward', password: 's3cret' }] };

describe('billforward.verify: HTTP Basic', () => {
  const body = fixture('billforward', 'bf-java/subscription/cancelled.json');
  const withAuth = (authorization?: string | string[]) => request(body, { authorization });

  it('accepts the configured credentials, and any of rotated ones', () => {
    expect(rejection(billforward, withAuth(basic('billforward', 's3cret')), settings)).toBeUndefined();
    expect(rejection(billforward, withAuth(`basic   ${Buffer.from('billforward:s3cret').toString('base64')}`), settings)).toBeUndefined();
    const rotated = { basicAuth: [{ user: 'old', password: 'old' }, ...settings.basicAuth] };
    expect(rejection(billforward, withAuth(basic('billforward', 's3cret')), rotated)).toBeUndefined();
    expect(rejection(billforward, withAuth(basic('old', 'old')), rotated)).toBeUndefined();
  });

  it.each([
    ['missing', undefined, /missing/],
    ['empty', '', /missing/],
    ['wrong user', basic('billforwardx', 's3cret'), /do not match/],
    ['wrong password', basic('billforward', 's3cret '), /do not match/],
    ['right password for another user', basic('old', 's3cret'), /do not match/],
    ['malformed (no colon)', `Basic ${Buffer.from('billforward').toString('base64')}`, /malformed/],
    ['malformed (not base64)', 'Basic ***', /malformed/],
    ['repeated header', [basic('billforward', 's3cret'), basic('billforward', 's3cret')], /malformed/],
    ['Bearer', 'Bearer s3cret', /malformed/],
  ])('%s → 401 with WWW-Authenticate', (_case, authorization, reason) => {
    const error = rejection(billforward, withAuth(authorization), settings);
    expect(error?.status).toBe(401);
    expect(error?.reason).toMatch(reason);
    expect(error?.headers).toEqual({ 'WWW-Authenticate': 'Basic realm="billflow"' });
    expect(error?.reason).not.toContain('s3cret');
  });

  it('fails closed without credentials', () => {
    expect(rejection(billforward, withAuth(basic('billforward', 's3cret')), { basicAuth: [] })?.reason).toMatch(/not configured/);
  });
});

describe('billforward.sign', () => {
  it('writes RFC 7617\'s examples, the password in UTF-8', () => {
    expect(billforward.sign('{}', 'Aladdin:open sesame')).toEqual({ authorization: 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==' });
    expect(billforward.sign('{}', 'test:123\u00a3')).toEqual({ authorization: 'Basic dGVzdDoxMjPCow==' });
  });

  it('is accepted by verify with those credentials, a colon in the password included, and by no others', () => {
    const body = fixture('billforward', 'bf-java/subscription/cancelled.json');
    const headers = billforward.sign(body, 'billforward:s3c:ret');
    expect(rejection(billforward, request(body, headers), { basicAuth: [{ user: 'billforward', password: 's3c:ret' }] })).toBeUndefined();
    expect(rejection(billforward, request(body, headers), settings)?.status).toBe(401);
  });
});

describe('billforward.parse', () => {
  it.each(files)('parses %s, decoding entity and changes', (name) => {
    const raw = JSON.parse(fixture('billforward', name).toString('utf8')) as Record<string, string>;
    const event = parseOne(billforward, request(fixture('billforward', name)));
    expect(event).toMatchObject({ provider: 'billforward', id: raw.id, type: `${raw.domain}.${raw.action}`, occurredAt: new Date(raw.created ?? '').toISOString() });
    expect(event.payload).toMatchObject({ entity: JSON.parse(raw.entity ?? '{}') as object });
    if (raw.changes) expect(event.payload).toMatchObject({ changes: JSON.parse(raw.changes) as object });
  });

  it('normalises a cancelled subscription with its account and the audited changes', () => {
    expect(parseOne(billforward, request(fixture('billforward', 'bf-java/subscription/cancelled.json')))).toMatchObject({
      id: 'NOT-25AF1E00-2BF5-4C01-BD4D-5CF1AFD5',
      type: 'Subscription.Cancelled',
      kind: 'subscription.cancelled',
      references: { subscription: '0BA31F74-05F7-44C0-BD7D-ACDF46FFF695', account: 'AC50FE1F-F8A0-43C4-AB39-9770DC6F099F' },
      facts: { periodEnd: '2015-06-02T15:49:04Z' },
      details: {
        state: 'Cancelled',
        currentPeriodEnd: '2015-06-19T18:58:59Z',
        subscriptionEnd: '2015-06-02T15:49:04Z',
        changes: [
          { attributeName: 'state', previousValue: 'AwaitingPayment', newValue: 'Cancelled' },
          { attributeName: 'subscriptionEnd', newValue: 'Tue Jun 02 15:49:04 UTC 2015' },
        ],
      },
    });
  });

  it('reads an update that moves the period as a renewal', () => {
    expect(parseOne(billforward, request(fixture('billforward', 'bf-java/subscription/updated.json')))).toMatchObject({
      kind: 'subscription.renewed',
      references: { subscription: 'SUB-61D88AD4-BA8A-450F-8EF4-AFFACE5E', account: 'ACC-838306BA-2775-489E-8D2B-16026AAC' },
      facts: { periodStart: '2015-06-06T00:22:00Z', periodEnd: '2015-06-06T00:37:00Z' },
      details: { currentPeriodStart: '2015-06-06T00:22:00Z', currentPeriodEnd: '2015-06-06T00:37:00Z', state: 'AwaitingPayment' },
    });
  });

  it('takes an invoice\'s id from the entity, not entityID, which names the invoice\'s version', () => {
    // BillForward versions invoices: entityID is the entity's versionID; GET /invoices/{id} takes its id.
    const event = parseOne(billforward, request(fixture('billforward', 'bf-java/invoice/Pending.json')));
    expect(event).toMatchObject({
      kind: 'unknown',
      references: { invoice: 'F3803D46-E0EB-47E5-AC7A-10A53C03BF31', subscription: '160EF8D8-916A-48C5-AB86-4726862CEE53', account: '73D7E55C-DA1C-4F27-BBC5-8E03CA7BB215' },
      facts: { providerWillRetry: true, nextRetryAt: '2014-09-17T19:36:52Z' },
      details: { versionID: '04116AE4-2256-4B7A-8C25-650048D15269', versionNumber: 1, totalExecutionAttempts: 0, nextExecutionAttempt: '2014-09-17T19:36:52Z' },
    });
  });

  it('takes a subscription\'s id from the entity too, when entityID names a version of it', () => {
    const body = JSON.stringify({
      id: 'NOT-3',
      domain: 'Subscription',
      action: 'Cancelled',
      created: '2024-05-01T10:00:00Z',
      entityID: 'B0C2A1E4-7A5D-4E0F-9C11-3D2B5E6F7A80',
      entity: JSON.stringify({ id: 'SUB-61D88AD4-BA8A-450F-8EF4-AFFACE5E', versionID: 'B0C2A1E4-7A5D-4E0F-9C11-3D2B5E6F7A80', accountID: 'ACC-1', state: 'Cancelled' }),
    });
    const event = parseOne(billforward, request(body));
    expect(event.references).toEqual({ subscription: 'SUB-61D88AD4-BA8A-450F-8EF4-AFFACE5E', account: 'ACC-1' });
    expect(event.details).toMatchObject({ versionID: 'B0C2A1E4-7A5D-4E0F-9C11-3D2B5E6F7A80' });
  });

  const notification = (domain: string, action: string, entity: unknown = { id: 'E1', subscriptionID: 'SUB-1', accountID: 'ACC-1' }, extra = {}) =>
    JSON.stringify({ id: 'NOT-1', domain, action, created: '2024-05-01T10:00:00Z', entityID: 'E1', entity: typeof entity === 'string' ? entity : JSON.stringify(entity), ...extra });

  it('a receipt names its invoice and itself; a failed subscription ends at subscriptionEnd', () => {
    const rejected = parseOne(billforward, request(notification('Receipt', 'Reject', { id: 'RCP-1', invoiceID: 'INV-1', accountID: 'ACC-1' }, { entityID: 'RCP-1' })));
    expect(rejected.references).toEqual({ account: 'ACC-1', invoice: 'INV-1', payment: 'RCP-1' });
    const failed = parseOne(billforward, request(notification('Subscription', 'Failed', { id: 'SUB-1', accountID: 'ACC-1', currentPeriodEnd: '2024-05-20T00:00:00Z', subscriptionEnd: '2024-05-03T00:00:00Z' })));
    expect(failed.facts.periodEnd).toBe('2024-05-03T00:00:00Z');
  });

  it.each([
    ['before the period end: BillForward retries', '2024-05-10T00:00:00Z', true],
    ['after the period end: BillForward will not, billflow\'s schedule applies', '2024-06-10T00:00:00Z', false],
  ])('nextExecutionAttempt %s', (_case, next, willRetry) => {
    const entity = { id: 'INV-1', subscriptionID: 'SUB-1', periodStart: '2024-05-01T00:00:00Z', periodEnd: '2024-06-01T00:00:00Z', nextExecutionAttempt: next };
    expect(parseOne(billforward, request(notification('Invoice', 'PaymentFailed', entity))).facts).toMatchObject({ providerWillRetry: willRetry, nextRetryAt: next });
  });

  it.each([
    ['Invoice', 'Paid', 'payment.succeeded'],
    ['Invoice', 'Unpaid', 'payment.created'],
    ['Invoice', 'PaymentFailed', 'payment.failed'],
    ['Receipt', 'Reject', 'payment.failed'],
    ['Receipt', 'Accept', 'payment.succeeded'],
    ['Subscription', 'Failed', 'subscription.cancelled'],
    ['Subscription', 'Provisioned', 'subscription.created'],
    ['Subscription', 'Updated', 'subscription.updated'],
    ['Subscription', 'Cancelled', 'subscription.cancelled'],
    ['Subscription', 'Expired', 'subscription.expired'],
    ['Subscription', 'Paused', 'subscription.paused'],
    ['Subscription', 'Resumed', 'subscription.resumed'],
    ['Account', 'Deleted', 'account.closed'],
    ['SubscriptionCancellation', 'Cancelled', 'unknown'],
    ['Webhook', 'Created', 'unknown'],
  ])('%s.%s → %s', (domain, action, kind) => {
    expect(parseOne(billforward, request(notification(domain, action))).kind).toBe(kind);
  });

  it('accepts an entity already decoded, and a notification without changes; without the entity\'s id, the invoice is entityID', () => {
    const body = JSON.stringify({ id: 'NOT-2', domain: 'Invoice', action: 'Paid', created: '2024-05-01T10:00:00Z', entityID: 'INV-1', entity: { subscriptionID: 'SUB-1' } });
    expect(parseOne(billforward, request(body)).references).toEqual({ invoice: 'INV-1', subscription: 'SUB-1' });
  });

  it.each([
    ['entity that is not JSON', notification('Invoice', 'Paid', '{"id":'), /entity is not valid JSON/],
    ['entity that is a JSON array', notification('Invoice', 'Paid', '[1]'), /entity is not a JSON object/],
    ['changes that are not JSON', notification('Invoice', 'Paid', {}, { changes: 'nope' }), /changes is not valid JSON/],
    ['changes of the wrong shape', notification('Invoice', 'Paid', {}, { changes: '{"auditFieldChanges":[{"attributeName":1}]}' }), /attributeName/],
    ['no domain', JSON.stringify({ id: 'N', action: 'Paid', created: '2024-05-01T10:00:00Z', entityID: 'E' }), /domain/],
    ['created not a time', JSON.stringify({ id: 'N', domain: 'Invoice', action: 'Paid', created: 'Tue Jun 02', entityID: 'E' }), /created/],
    ['not JSON', '<notification/>', /not valid JSON/],
  ])('refuses %s', (_case, body, reason) => {
    expect(parseError(billforward, request(body)).reason).toMatch(reason);
  });

  it('refuses XML and form content types', () => {
    expect(parseError(billforward, request('<n/>', { 'content-type': 'application/xml' })).reason).toMatch(/content type/);
    expect(parseError(billforward, request('a=b', { 'content-type': 'application/x-www-form-urlencoded' })).reason).toMatch(/content type/);
  });
});
