import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { stripe, type StripeSettings } from '../../../src/providers/stripe/webhook';
import { fixture, flipByte, parseError, parseOne, rejection, request, signedHeader } from '../helpers';

const sdk = new Stripe('sk_test_unused');
const vectors = JSON.parse(fixture('stripe', 'signature-vectors.json').toString('utf8')) as {
  verbatim_vectors: { cases: VerbatimCase[] };
  stripe_node: { payload: string; secret: string; fixed_timestamp_cases: NodeCase[] };
};
interface VerbatimCase {
  id: string;
  body_file?: string;
  body?: string;
  secret: string;
  header?: string;
  headers?: string[];
  now?: number | string;
  tolerance_s?: number;
  expected_valid: boolean;
}
interface NodeCase {
  header: string;
  receivedAt_ms?: number;
  tolerance_s?: number;
  expected_valid?: boolean;
  expected_valid_with_tolerance_0?: boolean;
}

const settings = (webhookSecrets: string[], signatureToleranceSeconds = 300): StripeSettings => ({ webhookSecrets, signatureToleranceSeconds });
const at = (unixSeconds: number): Date => new Date(unixSeconds * 1000);
const signed = (body: Buffer | string, header: string) => request(body, { 'stripe-signature': header });
const header = (body: Buffer | string, secret: string, t: number): string => signedHeader(stripe.sign(body, secret, { now: at(t) }), 'stripe-signature');

describe('stripe.verify: the official libraries\' vectors', () => {
  const dotnetBody = fixture('stripe', 'stripe-dotnet_event_test_signature.json');
  const byId = (id: string): VerbatimCase => {
    const found = vectors.verbatim_vectors.cases.find((c) => c.id === id);
    if (!found) throw new Error(`no vector ${id}`);
    return found;
  };

  it.each(['stripe-dotnet-1', 'stripe-dotnet-2', 'stripe-dotnet-old-1'])('%s is checked for its stated result at its stated time', (id) => {
    const vector = byId(id);
    const body = fixture('stripe', vector.body_file ?? '');
    const error = rejection(stripe, signed(body, vector.header ?? ''), settings([vector.secret], vector.tolerance_s), at(Number(vector.now)));
    expect(error === undefined).toBe(vector.expected_valid);
    if (error) expect(error.status).toBe(401);
  });

  it('stripe-dotnet-3: the body with text appended does not match', () => {
    const vector = byId('stripe-dotnet-3');
    expect(vector.expected_valid).toBe(false);
    const body = Buffer.concat([dotnetBody, Buffer.from('this_changes_the_json')]);
    expect(rejection(stripe, signed(body, vector.header ?? ''), settings([vector.secret]), at(1533204620))?.reason).toMatch(/does not match/);
  });

  it('stripe-dotnet-4: a secret with a lone surrogate appended does not match', () => {
    expect(byId('stripe-dotnet-4').expected_valid).toBe(false);
    const error = rejection(stripe, signed(dotnetBody, byId('stripe-dotnet-1').header ?? ''), settings(['webhook_secret\ud802']), at(1533204620));
    expect(error?.status).toBe(401);
  });

  it.each(byId('stripe-dotnet-5').headers ?? [])('stripe-dotnet-5: header %j is refused', (value) => {
    expect(rejection(stripe, signed('{}', value), settings(['webhook_secret']), at(1533204620))?.status).toBe(401);
  });

  it('stripe-dotnet-old-2: the 2018 vector is stale today', () => {
    const vector = byId('stripe-dotnet-old-2');
    const body = fixture('stripe', vector.body_file ?? '');
    expect(rejection(stripe, signed(body, vector.header ?? ''), settings([vector.secret]))?.reason).toMatch(/tolerance/);
  });

  it.each(vectors.stripe_node.fixed_timestamp_cases)('stripe-node $header', (vector) => {
    const t = Number(/t=(\d+)/.exec(vector.header)?.[1]);
    // billflow always has a tolerance, so "no tolerance" cases are checked at their own timestamp.
    const now = vector.receivedAt_ms === undefined ? at(t) : new Date(vector.receivedAt_ms);
    const error = rejection(stripe, signed(vectors.stripe_node.payload, vector.header), settings([vectors.stripe_node.secret], vector.tolerance_s ?? 300), now);
    expect(error === undefined).toBe(vector.expected_valid ?? vector.expected_valid_with_tolerance_0);
  });

  it('the stripe-node recipes: v0 only, a bad v1, a non-header, an empty header', () => {
    const { payload, secret } = vectors.stripe_node;
    const now = Math.floor(Date.now() / 1000);
    const good = header(payload, secret, now).split('v1=')[1] ?? '';
    expect(rejection(stripe, signed(payload, `t=${now},v0=${good}`), settings([secret]))?.reason).toMatch(/malformed/);
    expect(rejection(stripe, signed(payload, `t=${now},v1=bad_signature`), settings([secret]))?.reason).toMatch(/does not match/);
    expect(rejection(stripe, signed(payload, 'I\'m not even a real signature header'), settings([secret]))?.reason).toMatch(/malformed/);
    expect(rejection(stripe, signed(payload, ''), settings([secret]))?.reason).toMatch(/missing/);
    expect(rejection(stripe, signed(payload, `t=${now},v1=${good},v1=potato`), settings([secret], 10))).toBeUndefined();
    expect(rejection(stripe, signed(payload, header(payload, secret, now - 15)), settings([secret], 10))?.reason).toMatch(/tolerance/);
    expect(rejection(stripe, signed(payload, header(payload, secret, now - 400)), settings([secret]))?.reason).toMatch(/tolerance/);
  });
});

describe('stripe.sign', () => {
  const { payload, secret, fixed_timestamp_cases: nodeCases } = vectors.stripe_node;

  it('writes the official vectors\' headers at their timestamps', () => {
    const dotnet = vectors.verbatim_vectors.cases.find((c) => c.id === 'stripe-dotnet-1');
    // Stripe no longer sends the v0 signature the stripe-dotnet header carries beside v1.
    const [, t, v1] = /^t=(\d+),(v1=[0-9a-f]{64}),v0=/.exec(dotnet?.header ?? '') ?? [];
    expect(header(fixture('stripe', dotnet?.body_file ?? ''), dotnet?.secret ?? '', Number(t))).toBe(`t=${t},${v1}`);
    expect(nodeCases.length).toBeGreaterThanOrEqual(4);
    for (const vector of nodeCases) expect(header(payload, secret, Number(/^t=(\d+),/.exec(vector.header)?.[1]))).toBe(vector.header);
  });

  it('writes what the SDK\'s generateTestHeaderString writes, for arbitrary bodies, secrets and times', () => {
    fc.assert(
      // From 1: the SDK reads a timestamp of 0 as "none given" and signs at the present instead.
      fc.property(fc.json(), fc.stringMatching(/^whsec_[A-Za-z0-9]{1,40}$/), fc.integer({ min: 1, max: 4_000_000_000 }), (body, key, t) => {
        expect(header(body, key, t)).toBe(sdk.webhooks.generateTestHeaderString({ payload: body, secret: key, timestamp: t }));
      }),
    );
  });

  it('is accepted by verify at its time, and by no other secret or body', () => {
    const body = fixture('stripe', 'events/invoice.paid.json');
    const now = new Date('2025-06-01T12:00:00Z');
    const headers = stripe.sign(body, 'whsec_round_trip', { now });
    expect(rejection(stripe, request(body, headers), settings(['whsec_round_trip']), now)).toBeUndefined();
    expect(rejection(stripe, request(body, headers), settings(['whsec_other']), now)?.status).toBe(401);
    expect(rejection(stripe, request(flipByte(body, 10), headers), settings(['whsec_round_trip']), now)?.status).toBe(401);
    // Without `now`, it signs at the present.
    expect(rejection(stripe, request(body, stripe.sign(body, 'whsec_round_trip')), settings(['whsec_round_trip']))).toBeUndefined();
  });
});

describe('stripe.verify: failures (Standard Webhooks matrix)', () => {
  const secret = 'whsec_billflow_test';
  const body = fixture('stripe', 'events/invoice.payment_failed.json');
  const now = 1_700_000_000;
  const verifyAt = (req: ReturnType<typeof request>, secrets = [secret]) => rejection(stripe, req, settings(secrets), at(now));
  const good = header(body, secret, now);

  it('accepts the genuine delivery', () => {
    expect(verifyAt(signed(body, good))).toBeUndefined();
  });

  it.each([
    ['missing header', undefined, /missing/],
    ['empty header', '', /missing/],
    ['no timestamp', good.replace(/^t=\d+,/, ''), /malformed/],
    ['non-numeric timestamp', good.replace(/^t=\d+/, 't=abc'), /malformed/],
    ['two timestamps', `t=${now},${good}`, /malformed/],
    ['no v1 signature', `t=${now}`, /malformed/],
    ['an item without =', `${good},garbage`, /malformed/],
    ['repeated header', [good, good], /malformed/],
    ['truncated signature', good.slice(0, -2), /does not match/],
    ['signature with extra hex', `${good}00`, /does not match/],
    ['timestamp changed after signing', good.replace(`t=${now}`, `t=${now + 1}`), /does not match/],
  ])('%s → 401', (_case, value, reason) => {
    const error = verifyAt(request(body, { 'stripe-signature': value }));
    expect(error?.status).toBe(401);
    expect(error?.reason).toMatch(reason);
  });

  it('rejects the wrong secret', () => {
    expect(verifyAt(signed(body, header(body, 'whsec_other', now)))?.reason).toMatch(/does not match/);
  });

  it('rejects the body altered by one byte, anywhere', () => {
    for (const index of [0, 1000, body.length - 1]) expect(verifyAt(signed(flipByte(body, index), good))?.status).toBe(401);
  });

  it('rejects a timestamp too old and one too far in the future, and accepts both edges', () => {
    for (const [t, ok] of [
      [now - 301, false],
      [now + 301, false],
      [now - 300, true],
      [now + 300, true],
    ] as const) {
      expect(verifyAt(signed(body, header(body, secret, t))) === undefined).toBe(ok);
    }
  });

  it('accepts several signatures when one is good, in any position', () => {
    const bad = header(body, 'whsec_old', now).split(',')[1];
    expect(verifyAt(signed(body, `${good},${bad}`))).toBeUndefined();
    expect(verifyAt(signed(body, `t=${now},${bad},${good.split(',')[1]},v0=${'0'.repeat(64)}`))).toBeUndefined();
  });

  it('accepts any one of rotated secrets', () => {
    expect(verifyAt(signed(body, good), ['whsec_old', secret])).toBeUndefined();
    expect(verifyAt(signed(body, good), [secret, 'whsec_next'])).toBeUndefined();
    expect(verifyAt(signed(body, good), ['whsec_old', 'whsec_next'])?.status).toBe(401);
  });

  it('fails closed without a secret', () => {
    expect(verifyAt(signed(body, good), [])?.reason).toMatch(/not configured/);
  });

  it('never puts the signature or the secret in its reason', () => {
    const forged = header(body, 'whsec_attacker', now);
    const error = verifyAt(signed(body, forged));
    expect(error?.reason).not.toContain(forged.split('v1=')[1]);
    expect(error?.reason).not.toContain(secret);
  });
});

describe('stripe.verify agrees with the official stripe SDK', () => {
  const secret = 'whsec_sdk_test';

  it('accepts what generateTestHeaderString signs, now and at a given timestamp', () => {
    const payload = fixture('stripe', 'events/customer.subscription.updated.json').toString('utf8');
    expect(rejection(stripe, signed(payload, sdk.webhooks.generateTestHeaderString({ payload, secret })), settings([secret]))).toBeUndefined();
    const t = 1_600_000_000;
    const fixed = sdk.webhooks.generateTestHeaderString({ payload, secret, timestamp: t });
    expect(rejection(stripe, signed(payload, fixed), settings([secret]), at(t))).toBeUndefined();
  });

  it('on arbitrary JSON bodies and secrets: both accept the SDK\'s signature, both refuse tampered bytes', () => {
    fc.assert(
      fc.property(fc.json(), fc.stringMatching(/^whsec_[A-Za-z0-9]{1,40}$/), fc.nat(), (payload, key, flipAt) => {
        const signature = sdk.webhooks.generateTestHeaderString({ payload, secret: key });
        const body = Buffer.from(payload);
        expect(rejection(stripe, signed(body, signature), settings([key]))).toBeUndefined();
        expect(() => sdk.webhooks.constructEvent(body, signature, key)).not.toThrow();

        const tampered = flipByte(body, flipAt % body.length);
        expect(rejection(stripe, signed(tampered, signature), settings([key]))?.status).toBe(401);
        expect(() => sdk.webhooks.signature?.verifyHeader(tampered, signature, key)).toThrow();
      }),
    );
  });

  it('hands constructEvent the very bytes it accepted, which parse to the same event', () => {
    for (const name of ['invoice.payment_failed', 'invoice.paid', 'customer.subscription.updated', 'customer.subscription.deleted']) {
      const body = fixture('stripe', `events/${name}.json`);
      const value = header(body, secret, Math.floor(Date.now() / 1000));
      expect(rejection(stripe, signed(body, value), settings([secret]))).toBeUndefined();
      const event = sdk.webhooks.constructEvent(body, value, secret);
      expect(event.type).toBe(name);
      expect(parseOne(stripe, signed(body, value)).id).toBe(event.id);
    }
  });
});

describe('stripe.parse', () => {
  it('normalises a failed invoice payment with its retry facts', () => {
    const event = parseOne(stripe, request(fixture('stripe', 'events/invoice.payment_failed.json')));
    expect(event).toMatchObject({
      provider: 'stripe',
      id: 'evt_000000000000000000000000',
      type: 'invoice.payment_failed',
      kind: 'payment.failed',
      occurredAt: '2022-03-26T18:40:09.000Z',
      references: { customer: 'cus_00000000000000', invoice: 'in_000000000000000000000000', payment: 'pi_000000000000000000000000' },
      facts: { providerWillRetry: false },
      details: { attempt_count: 1, next_payment_attempt: null, status: 'open', billing_reason: 'manual', livemode: false },
    });
    expect(event.references).not.toHaveProperty('subscription');
    expect(event.payload).toEqual(JSON.parse(fixture('stripe', 'events/invoice.payment_failed.json').toString('utf8')));
  });

  it('answers 400, not a crash, for a time no date can hold', () => {
    const event = JSON.parse(fixture('stripe', 'events/invoice.paid.json').toString('utf8')) as { created: number; data: { object: Record<string, unknown> } };
    expect(parseError(stripe, request(JSON.stringify({ ...event, created: 9e12 }))).message).toContain('out of range');
    const later = { ...event, data: { ...event.data, object: { ...event.data.object, next_payment_attempt: -9e12 } } };
    expect(parseError(stripe, request(JSON.stringify(later))).message).toContain('out of range');
  });

  it('normalises a paid invoice', () => {
    expect(parseOne(stripe, request(fixture('stripe', 'events/invoice.paid.json')))).toMatchObject({ kind: 'payment.succeeded', facts: {}, details: { status: 'paid' } });
  });

  it('normalises a subscription update and a deletion with their period facts', () => {
    expect(parseOne(stripe, request(fixture('stripe', 'events/customer.subscription.updated.json')))).toMatchObject({
      kind: 'subscription.updated',
      references: { customer: 'cus_00000000000000', subscription: 'sub_000000000000000000000000', invoice: 'in_000000000000000000000000' },
      facts: { periodStart: '2022-03-26T18:41:45.000Z', periodEnd: '2022-04-26T18:41:45.000Z' },
      details: { current_period_start: '2022-03-26T18:41:45.000Z', current_period_end: '2022-04-26T18:41:45.000Z', cancel_at_period_end: false, status: 'active' },
    });
    expect(parseOne(stripe, request(fixture('stripe', 'events/customer.subscription.deleted.json')))).toMatchObject({
      kind: 'subscription.expired',
      references: { subscription: 'sub_000000000000000000000000' },
      facts: { periodStart: '2022-03-26T18:41:36.000Z' },
      details: { status: 'canceled', current_period_start: '2022-03-26T18:41:36.000Z' },
    });
  });

  it('parses the SDK test bodies (events billflow does not act on)', () => {
    expect(parseOne(stripe, request(fixture('stripe', 'stripe-dotnet_event_test_signature.json')))).toMatchObject({
      id: 'evt_123',
      type: 'customer.created',
      kind: 'unknown',
      references: { customer: 'cus_123' },
      details: { connected_account: 'acct_123' },
    });
    expect(parseOne(stripe, request(fixture('stripe', 'stripe-dotnet_event_test_signature.c47682f9c.json'))).kind).toBe('unknown');
    expect(parseOne(stripe, request(vectors.stripe_node.payload.replace('"object": "event"', '"object": "event", "type": "x", "created": 1, "data": {"object": {}}'))).kind).toBe('unknown');
  });

  const event = (type: string, object: Record<string, unknown>, previous?: Record<string, unknown>) =>
    JSON.stringify({ id: 'evt_1', type, created: 1_700_000_000, data: { object, ...(previous ? { previous_attributes: previous } : {}) } });
  const kindOf = (...args: Parameters<typeof event>) => parseOne(stripe, request(event(...args))).kind;

  it.each([
    ['invoice.payment_failed', 'payment.failed'],
    ['invoice.paid', 'payment.succeeded'],
    ['invoice.payment_succeeded', 'payment.succeeded'],
    ['invoice.voided', 'invoice.voided'],
    ['invoice.marked_uncollectible', 'invoice.uncollectible'],
    ['customer.subscription.created', 'subscription.created'],
    ['customer.subscription.deleted', 'subscription.expired'],
    ['customer.subscription.paused', 'subscription.paused'],
    ['customer.subscription.resumed', 'subscription.resumed'],
    ['customer.deleted', 'account.closed'],
    ['charge.refunded', 'refund.created'],
    ['charge.dispute.created', 'payment.charged_back'],
    ['charge.dispute.funds_withdrawn', 'payment.charged_back'],
    ['charge.dispute.funds_reinstated', 'payment.chargeback_reversed'],
    ['refund.failed', 'refund.failed'],
    ['invoice.upcoming', 'unknown'],
    ['constructor', 'unknown'],
  ])('%s → %s', (type, kind) => {
    expect(kindOf(type, { id: 'x' })).toBe(kind);
  });

  it('reads a dispute: its id, its payment intent (else its charge) as the payment, and its close by its final status', () => {
    const dispute = { id: 'du_1', object: 'dispute', charge: 'ch_1', payment_intent: 'pi_1', status: 'needs_response' };
    expect(parseOne(stripe, request(event('charge.dispute.created', dispute)))).toMatchObject({ kind: 'payment.charged_back', references: { dispute: 'du_1', payment: 'pi_1' } });
    expect(parseOne(stripe, request(event('charge.dispute.created', { ...dispute, payment_intent: null }))).references).toEqual({ dispute: 'du_1', payment: 'ch_1' });
    const closed = (status: string) => kindOf('charge.dispute.closed', { ...dispute, status });
    expect(closed('won')).toBe('payment.chargeback_reversed');
    expect(closed('warning_closed')).toBe('payment.chargeback_reversed');
    expect(closed('prevented')).toBe('payment.chargeback_reversed');
    expect(closed('lost')).toBe('payment.chargeback_lost');
    expect(closed('under_review')).toBe('unknown');
  });

  it('reads a subscription update: new period → renewed, cancellation scheduled → cancelled, withdrawn → reactivated', () => {
    const sub = { id: 'sub_1', object: 'subscription', current_period_start: 200, cancel_at_period_end: false };
    expect(kindOf('customer.subscription.updated', sub, { current_period_start: 100 })).toBe('subscription.renewed');
    expect(kindOf('customer.subscription.updated', { ...sub, cancel_at_period_end: true }, { cancel_at_period_end: false })).toBe('subscription.cancelled');
    expect(kindOf('customer.subscription.updated', sub, { cancel_at_period_end: true })).toBe('subscription.reactivated');
    expect(kindOf('customer.subscription.updated', sub, { metadata: {} })).toBe('subscription.updated');
  });

  it('reads an update into status paused (a trial ended without a payment method) as a pause, and out of it as a resumption', () => {
    const sub = { id: 'sub_1', object: 'subscription', cancel_at_period_end: false };
    expect(kindOf('customer.subscription.updated', { ...sub, status: 'paused' }, { status: 'trialing' })).toBe('subscription.paused');
    expect(kindOf('customer.subscription.updated', { ...sub, status: 'active' }, { status: 'paused' })).toBe('subscription.resumed');
  });

  it("reads the status moves of Stripe's own dunning: past_due under way, unpaid ended, incomplete_expired over", () => {
    const sub = { id: 'sub_1', object: 'subscription', customer: 'cus_1', latest_invoice: 'in_1', cancel_at_period_end: false };
    const update = (status: string, previous: string) => parseOne(stripe, request(event('customer.subscription.updated', { ...sub, status }, { status: previous })));
    expect(update('past_due', 'active')).toMatchObject({ kind: 'subscription.past_due', references: { subscription: 'sub_1', invoice: 'in_1', customer: 'cus_1' } });
    expect(update('unpaid', 'past_due')).toMatchObject({ kind: 'subscription.unpaid', references: { subscription: 'sub_1', invoice: 'in_1' }, details: { status: 'unpaid', previous_status: 'past_due' } });
    expect(update('incomplete_expired', 'incomplete').kind).toBe('subscription.expired');
    // Other moves (back to active: the invoice.paid event tells it) stay plain updates.
    expect(update('active', 'past_due').kind).toBe('subscription.updated');
    expect(kindOf('customer.subscription.updated', { ...sub, status: 'constructor' }, { status: 'active' })).toBe('subscription.updated');
    expect(kindOf('customer.subscription.updated', { ...sub, status: 'unpaid' }, { metadata: {} })).toBe('subscription.updated');
  });

  it('reads invoice.payment_action_required as a failed payment only the customer can complete (SCA)', () => {
    const invoice = { id: 'in_1', object: 'invoice', customer: 'cus_1', status: 'open', next_payment_attempt: null, parent: { subscription_details: { subscription: 'sub_1' } } };
    expect(parseOne(stripe, request(event('invoice.payment_action_required', invoice)))).toMatchObject({
      kind: 'payment.failed',
      references: { invoice: 'in_1', subscription: 'sub_1' },
      facts: { customerActionRequired: true, providerWillRetry: false },
    });
    expect(parseOne(stripe, request(event('invoice.payment_failed', invoice))).facts).toEqual({ providerWillRetry: false });
  });

  it('reads the period from the subscription items (API 2025-03-31 and later) and the invoice\'s parent', () => {
    const sub = { id: 'sub_1', object: 'subscription', customer: 'cus_1', items: { data: [{ current_period_start: 200, current_period_end: 300 }] } };
    const renewed = parseOne(stripe, request(event('customer.subscription.updated', sub, { items: { data: [{ current_period_start: 100 }] } })));
    expect(renewed).toMatchObject({
      kind: 'subscription.renewed',
      facts: { periodStart: '1970-01-01T00:03:20.000Z', periodEnd: '1970-01-01T00:05:00.000Z' },
      details: { current_period_start: '1970-01-01T00:03:20.000Z', current_period_end: '1970-01-01T00:05:00.000Z' },
    });
    const invoice = { id: 'in_1', object: 'invoice', customer: 'cus_1', parent: { subscription_details: { subscription: 'sub_1' } }, attempt_count: 2, next_payment_attempt: 1_700_086_400 };
    expect(parseOne(stripe, request(event('invoice.payment_failed', invoice)))).toMatchObject({
      references: { invoice: 'in_1', customer: 'cus_1', subscription: 'sub_1' },
      facts: { providerWillRetry: true, nextRetryAt: '2023-11-15T22:13:20.000Z' },
      details: { attempt_count: 2, next_payment_attempt: '2023-11-15T22:13:20.000Z' },
    });
  });

  it('takes expanded objects as references by their id', () => {
    const charge = { id: 'ch_1', object: 'charge', customer: { id: 'cus_1', object: 'customer' }, invoice: { id: 'in_1' }, payment_intent: 'pi_1' };
    expect(parseOne(stripe, request(event('charge.refunded', charge))).references).toEqual({ customer: 'cus_1', invoice: 'in_1', payment: 'pi_1' });
  });

  it.each([
    ['text/plain', '{}', /content type/],
    ['application/x-www-form-urlencoded', 'a=b', /content type/],
  ])('refuses content type %s', (contentType, body, reason) => {
    expect(parseError(stripe, request(body, { 'content-type': contentType })).reason).toMatch(reason);
  });

  it.each([
    ['not JSON', '{"id":', /not valid JSON/],
    ['an array', '[]', /not a Stripe event/],
    ['no id', JSON.stringify({ type: 'x', created: 1, data: { object: {} } }), /id/],
    ['created not a number', JSON.stringify({ id: 'evt', type: 'x', created: 'now', data: { object: {} } }), /created/],
    ['no data.object', JSON.stringify({ id: 'evt', type: 'x', created: 1, data: {} }), /data\.object/],
    ['attempt_count not a number', event('invoice.payment_failed', { attempt_count: 'two' }), /attempt_count/],
  ])('refuses %s', (_case, body, reason) => {
    expect(parseError(stripe, request(body)).reason).toMatch(reason);
  });
});
