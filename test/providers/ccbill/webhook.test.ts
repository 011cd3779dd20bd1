import { describe, expect, it } from 'vitest';
import { ccbill, ccbillWebhookIps } from '../../../src/providers/ccbill/webhook';
import { fixture, parseError, parseOne, rejection, request } from '../helpers';

interface ManifestEntry {
  file: string;
  eventType: string;
  query_string: string;
  content_type: string;
}
const manifest = (JSON.parse(fixture('ccbill', 'manifest.json').toString('utf8')) as ManifestEntry[]).filter((entry) => entry.file.startsWith('ccbill/'));
const file = (entry: ManifestEntry): string => entry.file.replace(/^ccbill\//, '');
// The Rails/Laravel dumps do not say how they were posted: they are JSON.
const contentTypeOf = (entry: ManifestEntry): string => (entry.content_type.startsWith('application/') ? entry.content_type : 'application/json');
const delivery = (entry: ManifestEntry, ip = '64.38.212.1') =>
  request(fixture('ccbill', file(entry)), { 'content-type': contentTypeOf(entry) }, { query: Object.fromEntries(new URLSearchParams(entry.query_string)), ip });
const entry = (name: string): ManifestEntry => {
  const found = manifest.find((candidate) => candidate.file.endsWith(name));
  if (!found) throw new Error(`no fixture ${name}`);
  return found;
};

describe('ccbill.verify: the source-IP allow-list', () => {
  const settings = { allowedIps: [...ccbillWebhookIps] };

  it.each(['64.38.212.1', '64.38.212.254', '64.38.215.77', '64.38.240.1', '64.38.241.254', '::ffff:64.38.241.9'])('accepts CCBill\'s %s', (ip) => {
    expect(rejection(ccbill, delivery(entry('openrails/RenewalFailure.json'), ip), settings)).toBeUndefined();
  });

  it.each(['127.0.0.1', '64.38.213.1', '64.38.216.1', '10.0.0.1', '::1', '', 'garbage', '64.38.212'])('refuses %j with 403', (ip) => {
    const error = rejection(ccbill, delivery(entry('openrails/RenewalFailure.json'), ip), settings);
    expect(error?.status).toBe(403);
    expect(error?.reason).toMatch(/allow-list/);
  });

  it('uses a configured list instead, and refuses everything with an empty one', () => {
    expect(rejection(ccbill, delivery(entry('openrails/RenewalFailure.json'), '192.0.2.7'), { allowedIps: ['192.0.2.0/24'] })).toBeUndefined();
    expect(rejection(ccbill, delivery(entry('openrails/RenewalFailure.json'), '64.38.212.1'), { allowedIps: ['192.0.2.0/24'] })?.status).toBe(403);
    expect(rejection(ccbill, delivery(entry('openrails/RenewalFailure.json')), { allowedIps: [] })?.status).toBe(403);
  });
});

describe('ccbill.sign', () => {
  it('writes no header: verify accepts the delivery by its address alone', () => {
    const body = fixture('ccbill', file(entry('openrails/RenewalFailure.json')));
    const headers = ccbill.sign(body, 'any secret');
    expect(headers).toEqual({});
    expect(rejection(ccbill, request(body, headers, { ip: '64.38.212.1' }), { allowedIps: [...ccbillWebhookIps] })).toBeUndefined();
  });
});

describe('ccbill.parse', () => {
  it.each(manifest.map((candidate) => [file(candidate), candidate] as const))('parses %s', (_name, candidate) => {
    const event = parseOne(ccbill, delivery(candidate));
    expect(event).toMatchObject({ provider: 'ccbill', type: candidate.eventType });
    expect(event.id).toMatch(new RegExp(`^${candidate.eventType}:[0-9a-f]{32}$`));
  });

  it('derives the same id from the JSON and the form encoding of an event, and on every redelivery', () => {
    const jsonOnes = manifest.filter((candidate) => candidate.file.includes('/openrails/'));
    expect(jsonOnes.length).toBe(17);
    for (const json of jsonOnes) {
      const form = entry(`form-derived/${json.eventType}.form-urlencoded.txt`);
      const fromJson = parseOne(ccbill, delivery(json));
      const fromForm = parseOne(ccbill, delivery(form));
      expect(fromForm.id).toBe(fromJson.id);
      expect(fromForm.references).toEqual(fromJson.references);
      expect(parseOne(ccbill, delivery(json)).id).toBe(fromJson.id);
    }
  });

  it('gives different events different ids', () => {
    const ids = manifest.filter((candidate) => !candidate.file.includes('form-derived')).map((candidate) => parseOne(ccbill, delivery(candidate)).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('normalises a renewal failure with CCBill\'s own retry facts', () => {
    expect(parseOne(ccbill, delivery(entry('openrails/RenewalFailure.json')))).toMatchObject({
      type: 'RenewalFailure',
      kind: 'payment.failed',
      // 06:49:08 in CCBill's Mountain Standard Time (UTC−07:00).
      occurredAt: '2025-09-04T13:49:08.000Z',
      references: { subscription: '0125217202000000017', payment: '0125217202000000017' },
      facts: { providerWillRetry: true, nextRetryAt: '2025-09-07' },
      details: { nextRetryDate: '2025-09-07', failureReason: 'Card Expired', failureCode: 'D05', timestamp: '2025-09-04 06:49:08', clientAccnum: '945280' },
    });
  });

  it.each([
    ['openrails/RenewalSuccess.json', 'subscription.renewed'],
    ['openrails/NewSaleSuccess.json', 'subscription.created'],
    ['openrails/NewSaleFailure.json', 'unknown'],
    ['openrails/Cancellation.json', 'subscription.cancelled'],
    ['openrails/Expiration.json', 'subscription.expired'],
    ['openrails/UserReactivation.json', 'subscription.reactivated'],
    ['openrails/Chargeback.json', 'payment.charged_back'],
    ['openrails/Return.json', 'payment.charged_back'],
    ['openrails/Void.json', 'payment.voided'],
    ['openrails/Refund.json', 'refund.paid'],
    ['openrails/BillingDateChange.json', 'subscription.updated'],
    ['openrails/UpgradeSuccess.json', 'unknown'],
    ['openrails/CustomerDataUpdate.json', 'unknown'],
  ])('%s → %s', (name, kind) => {
    expect(parseOne(ccbill, delivery(entry(name))).kind).toBe(kind);
  });

  it('says a RenewalSuccess was paid, and a BillingDateChange moves the period to nextRenewalDate', () => {
    expect(parseOne(ccbill, delivery(entry('openrails/RenewalSuccess.json'))).facts).toEqual({ periodStart: '2025-08-05', periodEnd: '2025-09-04', renewalPaid: true });
    expect(parseOne(ccbill, delivery(entry('openrails/RenewalFailure.json'))).facts.renewalPaid).toBeUndefined();
    expect(parseOne(ccbill, delivery(entry('openrails/BillingDateChange.json')))).toMatchObject({
      occurredAt: '2025-08-21T18:15:30.000Z',
      facts: { periodEnd: '2025-09-25' },
    });
  });

  it('accepts the content type as CCBill\'s guide spells it (application/x-www-form-encoded)', () => {
    const form = entry('form-derived/RenewalFailure.form-urlencoded.txt');
    const spelled = request(fixture('ccbill', file(form)), { 'content-type': 'application/x-www-form-encoded' }, { query: { eventType: 'RenewalFailure' } });
    expect(parseOne(ccbill, spelled).id).toBe(parseOne(ccbill, delivery(form)).id);
  });

  it('reads numbers as ids (clientAccnum sent as a JSON number)', () => {
    expect(parseOne(ccbill, delivery(entry('openrails/Cancellation.json')))).toMatchObject({ details: { clientAccnum: '945280', reason: 'Failed rebill', source: 'failedRB' } });
  });

  it('uses receipt time, flagged, when CCBill sends no timestamp (UserReactivation), and redacts the password', () => {
    const event = parseOne(ccbill, delivery(entry('openrails/UserReactivation.json')));
    expect(event.details.occurredAtIsReceiptTime).toBe(true);
    expect(Date.now() - Date.parse(event.occurredAt)).toBeLessThan(60_000);
    expect(event.payload).toMatchObject({ password: '[redacted]', username: 'test_user_8421' });
    expect(JSON.stringify(event)).not.toContain('Reactivated@2025');
  });

  it('takes eventType from the body when the query string lacks it, the query string winning otherwise', () => {
    const raw = fixture('ccbill', 'json/ccbill_ruby/cancellation.json');
    expect(parseOne(ccbill, request(raw)).type).toBe('Cancellation');
    expect(parseOne(ccbill, request(raw, {}, { query: { eventType: 'Expiration' } })).type).toBe('Expiration');
  });

  it.each([
    ['no eventType anywhere', request('{"subscriptionId":"1"}'), /eventType/],
    ['a repeated eventType', request('{}', {}, { query: { eventType: ['Cancellation', 'Expiration'] } }), /repeated/],
    ['a repeated form field', request('a=1&a=2', { 'content-type': 'application/x-www-form-urlencoded' }, { query: { eventType: 'Cancellation' } }), /repeated/],
    ['XML', request('<x/>', { 'content-type': 'application/xml' }, { query: { eventType: 'Cancellation' } }), /content type/],
    ['no content type', request('{}', { 'content-type': undefined }, { query: { eventType: 'Cancellation' } }), /content type/],
    ['broken JSON', request('{"a":', {}, { query: { eventType: 'Cancellation' } }), /not valid JSON/],
    ['a JSON array', request('[1]', {}, { query: { eventType: 'Cancellation' } }), /JSON object/],
  ])('refuses %s', (_case, req, reason) => {
    expect(parseError(ccbill, req).reason).toMatch(reason);
  });
});
