import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { recurly, recurlyWebhookIps, type RecurlySettings } from '../../../src/providers/recurly/webhook';
import { basic, fixture, flipByte, parseError, parseOne, rejection, request, signedHeader } from '../helpers';

interface FixedVector {
  name: string;
  secret: string;
  body: string;
  header: string;
  timestamp: number;
  tolerance_ms: number | string;
  expected_valid: boolean;
}
interface DynamicCase {
  test: string;
  secret?: string;
  verify_with_secret?: string;
  body?: string;
  verify_body?: string;
  signed_body?: string;
  header: string;
  expected_valid: boolean;
}
const vectors = JSON.parse(fixture('recurly', 'signature-vectors.json').toString('utf8')) as {
  common_values: { secret: string; body: string; secret_alt_dotnet: string; secret_alt_go: string };
  fixed_vectors: FixedVector[];
  precomputed_signatures_at_fixed_timestamp: Record<string, string>;
  dynamic_vectors: { cases: DynamicCase[] };
};
const { secret, body: vectorBody } = vectors.common_values;

const settings = (overrides: Partial<RecurlySettings> = {}): RecurlySettings => ({
  webhookSecrets: [secret],
  signatureToleranceSeconds: 300,
  basicAuth: [{ user: 'recurly', password: 'p@ss:word' }],
  allowedIps: [...recurlyWebhookIps],
  ...overrides,
});
const signedJson = (body: Buffer | string, header: string | string[] | undefined, extra: Record<string, string> = {}) =>
  request(body, { 'recurly-signature': header, ...extra });
/**
 * The signature Recurly sends beside `timestamp`. `sign` writes the timestamp as its `now` in
 * milliseconds, so a date `timestamp` ms after 1970 gives that timestamp as written, seconds too.
 */
const sign = (key: string, timestamp: number | string, body: string | Buffer = vectorBody): string =>
  signedHeader(recurly.sign(body, key, { now: new Date(Number(timestamp)) }), 'recurly-signature').split(',')[1] ?? '';

describe('recurly.verify (JSON): the official libraries\' vectors', () => {
  it.each(vectors.fixed_vectors)('$name', (vector) => {
    // "Infinite" tolerances in the libraries' tests: billflow's setting is a number of seconds.
    const toleranceSeconds = typeof vector.tolerance_ms === 'number' ? vector.tolerance_ms / 1000 : Number.MAX_SAFE_INTEGER;
    const error = rejection(recurly, signedJson(vector.body, vector.header), settings({ webhookSecrets: [vector.secret], signatureToleranceSeconds: toleranceSeconds }));
    expect(error === undefined).toBe(vector.expected_valid);
    if (error) expect(error.status).toBe(401);
  });

  // The dynamic cases are recipes around "now"; each is rebuilt here from its own description.
  const now = Date.now();
  const sig = (key: string, ts: number) => sign(key, ts);
  const cases: [string, string, string, string, boolean][] = [
    ['ruby: current notification', secret, vectorBody, `${now},${sig(secret, now)}`, true],
    ['ruby: secrets mismatched', 'key', vectorBody, `${now},${sig(secret, now)}`, false],
    ['ruby: payload body altered', secret, '{}', `${now},${sig(secret, now)}`, false],
    ['ruby: header timestamp altered', secret, vectorBody, `${now + 1000},${sig(secret, now)}`, false],
    ['ruby: multiple signatures in header', secret, vectorBody, `${now},de1ec7ab1e,${sig(secret, now)}`, true],
    ['ruby: malformed timestamp', secret, vectorBody, `abc,${sig(secret, now)}`, false],
    ['ruby: no signatures in header', secret, vectorBody, `${now},`, false],
    ['go: verify', secret, vectorBody, `${Math.floor(now / 1000) * 1000},${sig(secret, Math.floor(now / 1000) * 1000)}`, true],
    ['go: multiple signatures', vectors.common_values.secret_alt_go, vectorBody, `${now},${sig(secret, now)},${sig(vectors.common_values.secret_alt_go, now)}`, true],
    ['go: tolerance reached', secret, vectorBody, `${now - 600_000},${sig(secret, now)}`, false],
    ['go: empty header', secret, vectorBody, '', false],
    ['go: no comma', secret, vectorBody, `${now}${sig(secret, now)}`, false],
    ['go: no signature', secret, vectorBody, `${now}`, false],
    ['go: timestamp with a letter', secret, vectorBody, `${now}a,${sig(secret, now)}`, false],
    ['go: body with a byte appended', secret, `${vectorBody}a`, `${now},${sig(secret, now)}`, false],
    ['go: timestamp off by one', secret, vectorBody, `${now + 1},${sig(secret, now)}`, false],
    ['dotnet: valid (upper-case hex)', secret, vectorBody, `${now - 1000},${sig(secret, now - 1000).toUpperCase()}`, true],
    [
      'dotnet: valid from a multi-signature header',
      vectors.common_values.secret_alt_dotnet,
      vectorBody,
      `${now - 1000},ad24699f3beaa24c9af2cc7ada3ce4c835da0090194241b9d3add83d27f14bc3,${sig(vectors.common_values.secret_alt_dotnet, now - 1000).toUpperCase()},FCE309484E6A8360250DF367CCA0BCFC9FFFDC420AEAC2D97B9ED4560D8E4485`,
      true,
    ],
    ['dotnet: reversed signature', secret, vectorBody, `${now - 1000},${[...sig(secret, now - 1000).toUpperCase()].reverse().join('')}`, false],
  ];

  it('rebuilds every dynamic case the vectors file lists', () => {
    expect(cases).toHaveLength(vectors.dynamic_vectors.cases.length);
    expect(vectors.dynamic_vectors.cases.filter((c) => c.expected_valid)).toHaveLength(cases.filter((c) => c[4]).length);
  });

  it.each(cases)('%s', (_name, key, body, header, valid) => {
    const error = rejection(recurly, signedJson(body, header), settings({ webhookSecrets: [key] }), new Date(now));
    expect(error === undefined).toBe(valid);
    if (error) expect(error.status).toBe(401);
  });
});

describe('recurly.sign', () => {
  const timestamp = 1663103925004;
  const signAt = (key: string) => signedHeader(recurly.sign(vectorBody, key, { now: new Date(timestamp) }), 'recurly-signature');

  it('writes the official libraries\' signatures at their fixed timestamp, as lower-case hex', () => {
    const precomputed = vectors.precomputed_signatures_at_fixed_timestamp;
    expect(precomputed.timestamp).toBe(String(timestamp));
    expect(signAt(secret)).toBe(`${timestamp},${precomputed['hmac_sha256_hex(secret, timestamp.body)']}`);
    const alt = precomputed['hmac_sha256_hex(secret_alt_dotnet, timestamp.body) as in test (uppercase)'];
    expect(signAt(vectors.common_values.secret_alt_dotnet)).toBe(`${timestamp},${alt?.toLowerCase()}`);
    expect(vectors.fixed_vectors[0]?.header).toBe(signAt(secret));
  });

  it('is accepted by verify at its time, and by no other secret or body', () => {
    const body = fixture('recurly', 'json/subscription.renewed.json');
    const now = new Date('2025-06-01T12:00:00Z');
    const headers = recurly.sign(body, 'round-trip', { now });
    expect(rejection(recurly, request(body, headers), settings({ webhookSecrets: ['round-trip'] }), now)).toBeUndefined();
    expect(rejection(recurly, request(body, headers), settings({ webhookSecrets: ['other'] }), now)?.status).toBe(401);
    expect(rejection(recurly, request(flipByte(body, 10), headers), settings({ webhookSecrets: ['round-trip'] }), now)?.status).toBe(401);
    expect(rejection(recurly, request(body, recurly.sign(body, 'round-trip')), settings({ webhookSecrets: ['round-trip'] }))).toBeUndefined();
  });

  it('signs XML with HTTP Basic, which verify accepts from Recurly\'s addresses', () => {
    const body = fixture('recurly', 'xml/failed_payment_notification.xml');
    for (const contentType of ['application/xml', 'text/xml; charset=utf-8']) {
      const headers = recurly.sign(body, 'recurly:p@ss:word', { contentType });
      expect(headers).toEqual({ authorization: basic('recurly', 'p@ss:word') });
      expect(rejection(recurly, request(body, { 'content-type': contentType, ...headers }, { ip: '35.233.168.62' }), settings())).toBeUndefined();
    }
  });
});

describe('recurly.verify (JSON): failures (Standard Webhooks matrix)', () => {
  const body = fixture('recurly', 'json/payment.failed.json');
  const now = new Date('2024-05-01T10:00:00Z');
  const ms = now.getTime();
  const good = `${ms},${sign(secret, ms, body)}`;
  const verifyAt = (req: ReturnType<typeof request>, overrides: Partial<RecurlySettings> = {}) => rejection(recurly, req, settings(overrides), now);

  it('accepts the genuine delivery, with the timestamp in milliseconds or in seconds', () => {
    expect(verifyAt(signedJson(body, good))).toBeUndefined();
    const seconds = Math.floor(ms / 1000);
    expect(verifyAt(signedJson(body, `${seconds},${sign(secret, seconds, body)}`))).toBeUndefined();
  });

  it.each([
    ['missing header', undefined, /missing/],
    ['empty header', '', /missing/],
    ['repeated header', [good, good], /malformed/],
    ['only a timestamp', `${ms}`, /malformed/],
    ['empty signatures', `${ms},,`, /malformed/],
    ['negative timestamp', `-${ms},${sign(secret, ms, body)}`, /malformed/],
    ['truncated signature', good.slice(0, -1), /does not match/],
    ['non-hex signature', `${ms},${'z'.repeat(64)}`, /does not match/],
  ])('%s → 401', (_case, header, reason) => {
    const error = verifyAt(signedJson(body, header));
    expect(error?.status).toBe(401);
    expect(error?.reason).toMatch(reason);
  });

  it('rejects the wrong secret and the body altered by one byte', () => {
    expect(verifyAt(signedJson(body, `${ms},${sign('other', ms, body)}`))?.reason).toMatch(/does not match/);
    for (const index of [0, 50, body.length - 1]) expect(verifyAt(signedJson(flipByte(body, index), good))?.status).toBe(401);
  });

  it('rejects timestamps beyond the tolerance both ways, accepts its edges, honours its setting', () => {
    const at = (offsetMs: number, tolerance = 300) => verifyAt(signedJson(body, `${ms + offsetMs},${sign(secret, ms + offsetMs, body)}`), { signatureToleranceSeconds: tolerance });
    expect(at(-300_001)?.reason).toMatch(/tolerance/);
    expect(at(300_001)?.reason).toMatch(/tolerance/);
    expect(at(-300_000)).toBeUndefined();
    expect(at(300_000)).toBeUndefined();
    expect(at(-60_001, 60)?.reason).toMatch(/tolerance/);
  });

  it('accepts several signatures with one good, and rotated secrets', () => {
    expect(verifyAt(signedJson(body, `${ms},${sign('old', ms, body)},${sign(secret, ms, body)}`))).toBeUndefined();
    expect(verifyAt(signedJson(body, good), { webhookSecrets: ['old', secret] })).toBeUndefined();
    expect(verifyAt(signedJson(body, good), { webhookSecrets: ['old', 'next'] })?.status).toBe(401);
  });

  it('fails closed without a secret, and never puts a signature or secret in its reason', () => {
    expect(verifyAt(signedJson(body, good), { webhookSecrets: [] })?.reason).toMatch(/not configured/);
    const forged = `${ms},${sign('attacker', ms, body)}`;
    const error = verifyAt(signedJson(body, forged));
    expect(error?.reason).not.toContain(forged.split(',')[1]);
    expect(error?.reason).not.toContain(secret);
  });

  it('judges a non-XML content type by the signature, so an unsigned sender learns nothing about content types', () => {
    expect(verifyAt(request(body, { 'content-type': 'text/plain' }))?.reason).toMatch(/missing recurly-signature/);
  });
});

describe('recurly.verify (XML): source IP, then Basic', () => {
  const body = fixture('recurly', 'xml/failed_payment_notification.xml');
  const recurlyIp = '35.233.168.62';
  const xml = (headers: Record<string, string | undefined>, ip = recurlyIp) => request(body, { 'content-type': 'application/xml', ...headers }, { ip });
  const good = basic('recurly', 'p@ss:word');

  it('accepts Recurly\'s published US and EU addresses with the right credentials, also as IPv4-mapped IPv6', () => {
    for (const ip of ['35.233.168.62', '35.199.174.181', '34.107.83.154', '34.79.180.69', '::ffff:35.233.168.62']) {
      expect(rejection(recurly, xml({ authorization: good }, ip), settings())).toBeUndefined();
    }
    expect(rejection(recurly, request(body, { 'content-type': 'text/xml; charset=utf-8', authorization: good }, { ip: recurlyIp }), settings())).toBeUndefined();
  });

  it('refuses any other address with 403, before asking for credentials', () => {
    for (const ip of ['127.0.0.1', '35.233.168.63', '74.201.212.10', '', 'not-an-ip']) {
      const error = rejection(recurly, xml({ authorization: good }, ip), settings());
      expect(error?.status).toBe(403);
      expect(error?.headers).toEqual({});
    }
  });

  it.each([
    ['missing', undefined, /missing/],
    ['wrong user', basic('someone', 'p@ss:word'), /do not match/],
    ['wrong password', basic('recurly', 'p@ss:wrong'), /do not match/],
    ['malformed (not base64 user:password)', 'Basic !!!', /malformed/],
    ['malformed (no colon)', `Basic ${Buffer.from('recurly').toString('base64')}`, /malformed/],
    ['another scheme', 'Bearer abc', /malformed/],
  ])('Basic %s → 401 with the challenge', (_case, authorization, reason) => {
    const error = rejection(recurly, xml({ authorization }), settings());
    expect(error?.status).toBe(401);
    expect(error?.reason).toMatch(reason);
    expect(error?.headers).toEqual({ 'WWW-Authenticate': 'Basic realm="billflow"' });
  });

  it('accepts rotated credentials and a configured allow-list instead of the published one', () => {
    const rotated = settings({ basicAuth: [{ user: 'old', password: 'x' }, { user: 'recurly', password: 'p@ss:word' }], allowedIps: ['10.0.0.0/8'] });
    expect(rejection(recurly, xml({ authorization: good }, '10.1.2.3'), rotated)).toBeUndefined();
    expect(rejection(recurly, xml({ authorization: good }), rotated)?.status).toBe(403);
  });

  it('fails closed without Basic credentials, even from Recurly\'s addresses', () => {
    expect(rejection(recurly, xml({ authorization: good }), settings({ basicAuth: [] }))?.reason).toMatch(/not configured/);
  });
});

describe('recurly.parse (JSON)', () => {
  const files = readdirSync(path.join(__dirname, '../../fixtures/recurly/json')).filter((name) => name.endsWith('.json'));
  const broken = 'account.closed--dunning-without-credit-invoices.json';
  /** As Recurly delivers it: with the notification's id in its header. */
  const notified = (raw: Buffer | string, headers: Record<string, string> = {}) => request(raw, { 'recurly-notification-id': 'notif-1', ...headers });

  it.each(files.filter((name) => name !== broken))('parses %s', (name) => {
    const raw = fixture('recurly', `json/${name}`);
    const event = parseOne(recurly, notified(raw));
    const body = JSON.parse(raw.toString('utf8')) as Record<string, string>;
    expect(event).toMatchObject({ provider: 'recurly', id: 'notif-1', type: `${body.object_type}.${body.event_type}`, occurredAt: body.event_time, payload: body });
    expect(name.startsWith(event.type)).toBe(true);
  });

  it('refuses the docs example that is not valid JSON (a missing comma, as published)', () => {
    expect(parseError(recurly, notified(fixture('recurly', `json/${broken}`))).reason).toMatch(/not valid JSON/);
  });

  it('takes the dedup id from recurly-notification-id, the same on every retry', () => {
    const raw = fixture('recurly', 'json/subscription.renewed.json');
    expect(parseOne(recurly, request(raw, { 'recurly-notification-id': 'notif-123' })).id).toBe('notif-123');
  });

  it("refuses a notification without recurly-notification-id: the body's id is its object's, shared by that object's events", () => {
    // The docs' past_due and closed notifications of one invoice carry the same `id`.
    const pastDue = JSON.parse(fixture('recurly', 'json/invoice.past_due.json').toString('utf8')) as { id: string };
    const closed = JSON.parse(fixture('recurly', 'json/invoice.closed.json').toString('utf8')) as { id: string };
    expect(pastDue.id).toBe(closed.id);
    const error = parseError(recurly, request(fixture('recurly', 'json/invoice.closed.json')));
    expect(error.status).toBe(400);
    expect(error.reason).toMatch(/recurly-notification-id/);
    expect(parseError(recurly, request(fixture('recurly', 'json/invoice.closed.json'), { 'recurly-notification-id': '' })).reason).toMatch(/recurly-notification-id/);
  });

  it.each([
    ['payment.failed.json', 'payment.failed', { payment: '63abcf806e29cbfb3ec9c84e658777be' }],
    ['payment.succeeded.json', 'payment.succeeded', { payment: '63b068f7d409d4b4478dea4e6aba58ae' }],
    ['payment.voided.json', 'payment.voided', { payment: '63af16e06d659f949c37cc4f8cb2c5d0' }],
    ['payment.refunded.json', 'refund.paid', { payment: '63b06a9098839d7b45a18443b6b395a0' }],
    ['subscription.renewed.json', 'subscription.renewed', { subscription: '612bcf671a227b272b753a487fb6576a' }],
    ['subscription.canceled.json', 'subscription.cancelled', { subscription: '63ab531e1d5b1d47eaf1ef44eeb853c3' }],
    ['subscription.expired.json', 'subscription.expired', { subscription: '63af16e00c35a96baaa9a147d984bb33' }],
    ['subscription.reactivated.json', 'subscription.reactivated', { subscription: '63af1c72afe86fec35530a4a8aa70f71' }],
    ['subscription.paused.json', 'subscription.paused', { subscription: '63af27f8b037a8052b530b4bae858dc1' }],
    ['subscription.resumed.json', 'subscription.resumed', { subscription: '63af27f8b037a8052b530b4bae858dc1' }],
    ['subscription.created.json', 'subscription.created', { subscription: '63ab531e1d5b1d47eaf1ef44eeb853c3' }],
    ['subscription.updated.json', 'subscription.updated', { subscription: '635c9e549909a5c509bfbb4f55b953da' }],
    ['subscription.pause.scheduled.json', 'unknown', { subscription: '63ab5718be89b4f20a27714a8395ec2f' }],
    ['account.closed.json', 'account.closed', { account: 'verena' }],
    ['account.created.json', 'unknown', { account: 'verena' }],
    ['billing_info.updated.json', 'unknown', { account: '2cfc561c374@example.com' }],
    ['invoice.past_due.json', 'payment.failed', { invoice: '1000' }],
    ['dunning_event.created.json', 'payment.failed', { invoice: '1000' }],
    ['invoice.closed.json', 'invoice.closed', { invoice: '1000' }],
  ])('%s → %s with references %j', (name, kind, references) => {
    const event = parseOne(recurly, notified(fixture('recurly', `json/${name}`)));
    expect(event.kind).toBe(kind);
    expect(event.references).toEqual(references);
  });

  it.each([
    ['text/plain', /content type/],
    ['application/x-www-form-urlencoded', /content type/],
  ])('refuses content type %s', (contentType, reason) => {
    expect(parseError(recurly, notified(fixture('recurly', 'json/payment.failed.json'), { 'content-type': contentType })).reason).toMatch(reason);
  });

  it.each([
    ['no id', { object_type: 'payment', event_type: 'failed', event_time: '2022-07-27T00:17:45Z' }, /id/],
    ['event_time not a time', { id: 'x', object_type: 'payment', event_type: 'failed', event_time: 'yesterday' }, /event_time/],
    ['invoice_number an object', { id: 'x', object_type: 'invoice', event_type: 'closed', event_time: '2022-07-27T00:17:45Z', invoice_number: {} }, /invoice_number/],
  ])('refuses %s', (_case, body, reason) => {
    expect(parseError(recurly, notified(JSON.stringify(body))).reason).toMatch(reason);
  });
});

describe('recurly.parse (XML)', () => {
  const files = readdirSync(path.join(__dirname, '../../fixtures/recurly/xml')).filter((name) => name.endsWith('.xml'));
  const xml = (raw: Buffer | string, contentType = 'application/xml') => request(raw, { 'content-type': contentType });

  it.each(files)('parses %s, its root element naming the event', (name) => {
    const event = parseOne(recurly, xml(fixture('recurly', `xml/${name}`)));
    const root = name.replace(/--.*$/, '').replace(/\.xml$/, '');
    expect(event).toMatchObject({ provider: 'recurly', type: root });
    expect(event.id).toMatch(new RegExp(`^${root}:[0-9a-f]{32}$`));
    expect(Number.isNaN(Date.parse(event.occurredAt))).toBe(false);
    expect(event.references.account).toBeDefined();
    expect(Object.keys(event.payload as object)).toEqual([root]);
  });

  it('normalises a failed payment: references from the transaction, invoice number, failure facts', () => {
    const event = parseOne(recurly, xml(fixture('recurly', 'xml/failed_payment_notification.xml')));
    expect(event).toMatchObject({
      kind: 'payment.failed',
      occurredAt: '2009-11-22T13:10:38.000Z',
      references: { account: '1', subscription: '1974a098jhlkjasdfljkha898326881c', payment: 'a5143c1d3a6f4a8287d0e2cc1d4c0427', invoice: '2059' },
      facts: {},
      details: { transaction_status: 'Declined', failure_type: 'Declined by the gateway', amount_in_cents: 1000, invoice_number: 2059 },
    });
    expect(event.payload).toMatchObject({ failed_payment_notification: { account: { username: null }, transaction: { test: true, gateway_error_codes: null } } });
  });

  it('normalises a renewal with its new period, and the reactivation Recurly names an account notification', () => {
    expect(parseOne(recurly, xml(fixture('recurly', 'xml/renewed_subscription_notification.xml')))).toMatchObject({
      kind: 'subscription.renewed',
      occurredAt: '2010-09-22T20:42:05.000Z',
      references: { account: '1', subscription: '6ab458a887d38070807ebb3bed7ac1e5' },
      facts: { periodStart: '2010-09-22T20:42:05Z', periodEnd: '2010-10-22T20:42:05Z' },
      details: { current_period_started_at: '2010-09-22T20:42:05Z', current_period_ends_at: '2010-10-22T20:42:05Z', subscription_state: 'active', plan_code: 'bootstrap' },
    });
    const reactivated = parseOne(recurly, xml(fixture('recurly', 'xml/reactivated_account_notification.xml')));
    expect(reactivated).toMatchObject({ kind: 'subscription.reactivated', references: { subscription: '6ab458a887d38070807ebb3bed7ac1e5' }, details: { occurredAtIsReceiptTime: true } });
  });

  it.each([
    ['canceled_subscription_notification.xml', 'subscription.cancelled', '2010-09-23T22:05:43.000Z'],
    ['expired_subscription_notification.xml', 'subscription.expired', '2010-09-24T22:05:03.000Z'],
    ['subscription_paused_notification.xml', 'subscription.paused', '2018-03-10T22:12:08.000Z'],
    ['successful_payment_notification.xml', 'payment.succeeded', '2009-11-22T13:10:38.000Z'],
    ['void_payment_notification.xml', 'payment.voided', '2010-10-05T23:00:50.000Z'],
    ['successful_refund_notification.xml', 'refund.paid', '2010-10-06T20:37:55.000Z'],
  ])('%s → %s at %s', (name, kind, occurredAt) => {
    expect(parseOne(recurly, xml(fixture('recurly', `xml/${name}`)))).toMatchObject({ kind, occurredAt });
  });

  it('reads the dunning event: subscription ids as an array, the invoice number, dunning facts', () => {
    const event = parseOne(recurly, xml(fixture('recurly', 'xml/new_dunning_event_notification.xml')));
    // A step of Recurly's dunning: a failure of the invoice's payment, its case keyed by the invoice.
    expect(event).toMatchObject({
      kind: 'payment.failed',
      references: { account: '1234', subscription: '4110792b3b01967d854f674b7282f542', invoice: '1813' },
      details: { dunning_events_count: 2, final_dunning_event: false, invoice_state: 'past_due' },
    });
    expect(event.payload).toMatchObject({ new_dunning_event_notification: { invoice: { subscription_ids: ['4110792b3b01967d854f674b7282f542'] } } });
  });

  it("reads Recurly's dunning outcome: past due and closed invoices, paid or failed, keyed by invoice number", () => {
    const pastDue = parseOne(recurly, xml(fixture('recurly', 'xml/past_due_invoice_notification.xml')));
    expect(pastDue).toMatchObject({ kind: 'payment.failed', references: { account: '1', invoice: '1000' }, facts: {} });
    const collected = parseOne(recurly, xml(fixture('recurly', 'xml/closed_invoice_notification.xml')));
    expect(collected).toMatchObject({ kind: 'invoice.closed', occurredAt: '2014-01-01T20:24:02.000Z', references: { invoice: '1000' }, facts: { invoicePaid: true } });
    const failedXml = fixture('recurly', 'xml/closed_invoice_notification.xml').toString('utf8').replace('<state>collected</state>', '<state>failed</state>');
    expect(parseOne(recurly, xml(failedXml)).facts).toEqual({ invoicePaid: false });
    const chargeFailed = failedXml.replace(/closed_invoice_notification/g, 'failed_charge_invoice_notification');
    expect(parseOne(recurly, xml(chargeFailed))).toMatchObject({ kind: 'invoice.closed', facts: { invoicePaid: false } });
    const chargePastDue = fixture('recurly', 'xml/past_due_invoice_notification.xml').toString('utf8').replace(/past_due_invoice_notification/g, 'past_due_charge_invoice_notification');
    expect(parseOne(recurly, xml(chargePastDue))).toMatchObject({ kind: 'payment.failed', references: { invoice: '1000' } });
  });

  it('closes an account', () => {
    expect(parseOne(recurly, xml(fixture('recurly', 'xml/canceled_account_notification.xml')))).toMatchObject({ kind: 'account.closed', references: { account: '1' } });
  });

  it('derives the same id on a redelivery whatever the whitespace, and different ids for different content', () => {
    const raw = fixture('recurly', 'xml/failed_payment_notification.xml').toString('utf8');
    const id = parseOne(recurly, xml(raw)).id;
    expect(parseOne(recurly, xml(raw.replace(/\n\s*/g, '\n'), 'text/xml')).id).toBe(id);
    expect(parseOne(recurly, xml(raw.replace('<amount_in_cents type="integer">1000', '<amount_in_cents type="integer">1001'))).id).not.toBe(id);
  });

  it.each([
    ['not XML', '{"id":1}', /well-formed/],
    ['unclosed element', '<failed_payment_notification><account>', /well-formed/],
    ['two roots', '<a/><b/>', /well-formed|one root/],
    ['a DOCTYPE (entity expansion)', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', /DOCTYPE/],
    ['empty body', '', /well-formed|one root/],
  ])('refuses %s', (_case, body, reason) => {
    expect(parseError(recurly, xml(body)).reason).toMatch(reason);
  });
});
