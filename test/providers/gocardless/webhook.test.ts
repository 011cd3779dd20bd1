import fc from 'fast-check';
import { parse as officialParse, verifySignature as officialVerify } from 'gocardless-nodejs';
import { describe, expect, it } from 'vitest';
import { gocardless } from '../../../src/providers/gocardless/webhook';
import type { WebhookRequest } from '../../../src/providers/types';
import { fixture as providerFixture, parseError as parseErrorOf, rejection as rejectionOf, request } from '../helpers';

const fixture = (name: string): Buffer => providerFixture('gocardless', name);

interface Vector {
  id: string;
  body_file: string;
  secret: string;
  signature: string;
  expected_valid: boolean;
}
const { vectors } = JSON.parse(fixture('vectors.json').toString('utf8')) as { vectors: Vector[] };

const signedBody = fixture('webhook_body.signed.json');
const upstreamSecret = 'ED7D658C-D8EB-4941-948B-3973214F2D49';
const upstreamSignature = '2693754819d3e32d7e8fcb13c729631f316c6de8dc1cf634d6527f1c07276e7e';

/** The Webhook-Signature GoCardless would send; `sign` itself is checked against the vectors and the official library below. */
function sign(body: Buffer | string, secret: string): string {
  return gocardless.sign(body, secret)['webhook-signature'] ?? '';
}

/** The VerificationError `verify` throws with these secrets configured, or undefined when it accepts. */
const rejection = (req: WebhookRequest, webhookSecrets: string[]) => rejectionOf(gocardless, req, { webhookSecrets });

/** gocardless-nodejs's `parse` for real batches; its `verifySignature` (the check `parse` starts with) for any bytes. */
function officialAccepts(
  body: Buffer,
  secret: string,
  signature: string,
  check: (body: Buffer, secret: string, signature: string) => unknown = officialParse,
): boolean {
  try {
    check(body, secret, signature);
    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'InvalidSignatureError') return false;
    throw error;
  }
}

describe('gocardless.verify: the official libraries\' vectors', () => {
  it.each(vectors)('$id ($body_file) is valid: $expected_valid', (vector) => {
    const headers = vector.signature === '' ? {} : { 'webhook-signature': vector.signature };
    const error = rejection(request(fixture(vector.body_file), headers), [vector.secret]);
    expect(error === undefined).toBe(vector.expected_valid);
    if (error) expect(error.status).toBe(498);
  });

  it('covers both outcomes, so the loop above cannot pass vacuously', () => {
    expect(vectors.filter((vector) => vector.expected_valid).length).toBeGreaterThanOrEqual(2);
    expect(vectors.filter((vector) => !vector.expected_valid).length).toBeGreaterThanOrEqual(5);
  });
});

describe('gocardless.sign', () => {
  const valid = vectors.filter((vector) => vector.expected_valid);

  it.each(valid)('writes the official libraries\' signature of $body_file under $secret', (vector) => {
    expect(gocardless.sign(fixture(vector.body_file), vector.secret)).toEqual({ 'webhook-signature': vector.signature });
  });

  it('writes the same for the body as bytes or as the string of those bytes', () => {
    expect(gocardless.sign(signedBody.toString('utf8'), upstreamSecret)).toEqual({ 'webhook-signature': upstreamSignature });
    expect(valid.length).toBeGreaterThanOrEqual(2);
  });
});

describe('gocardless.verify: failures', () => {
  const good = request(signedBody, { 'webhook-signature': upstreamSignature });

  it('accepts the genuine delivery', () => {
    expect(rejection(good, [upstreamSecret])).toBeUndefined();
  });

  it.each([
    ['missing header', undefined, /missing/],
    ['empty header', '', /missing/],
    ['non-hex header', 'z'.repeat(64), /malformed/],
    ['truncated signature', upstreamSignature.slice(0, 62), /malformed/],
    ['signature with extra bytes', `${upstreamSignature}00`, /malformed/],
    ['sha256= prefix', `sha256=${upstreamSignature}`, /malformed/],
    ['repeated header', [upstreamSignature, upstreamSignature], /malformed/],
    ['well-formed but wrong signature', sign(signedBody, 'another secret'), /does not match/],
  ])('%s → 498', (_case, signature, reason) => {
    const error = rejection(request(signedBody, { 'webhook-signature': signature }), [upstreamSecret]);
    expect(error?.status).toBe(498);
    expect(error?.reason).toMatch(reason);
  });

  it('rejects the genuine signature under the wrong secret', () => {
    expect(rejection(good, ['foo'])?.reason).toMatch(/does not match/);
  });

  it('rejects the body altered by one byte', () => {
    for (const index of [0, 100, signedBody.length - 1]) {
      const altered = Buffer.from(signedBody);
      altered[index] = (altered[index] ?? 0) ^ 0x01;
      expect(rejection(request(altered, { 'webhook-signature': upstreamSignature }), [upstreamSecret])?.status).toBe(498);
    }
  });

  it('rejects the body with a trailing newline added (exact bytes, no trimming)', () => {
    const withNewline = Buffer.concat([signedBody, Buffer.from('\n')]);
    expect(rejection(request(withNewline, { 'webhook-signature': upstreamSignature }), [upstreamSecret])?.status).toBe(498);
  });

  it('accepts when any one of rotated secrets matches, in any position', () => {
    expect(rejection(good, ['old-secret', upstreamSecret])).toBeUndefined();
    expect(rejection(good, [upstreamSecret, 'next-secret'])).toBeUndefined();
    expect(rejection(good, ['old-secret', 'next-secret'])?.status).toBe(498);
  });

  it('fails closed when no secret is configured', () => {
    const error = rejection(good, []);
    expect(error?.status).toBe(498);
    expect(error?.reason).toMatch(/not configured/);
  });

  it('accepts the signature in upper-case hex (same bytes)', () => {
    expect(rejection(request(signedBody, { 'webhook-signature': upstreamSignature.toUpperCase() }), [upstreamSecret])).toBeUndefined();
  });

  it('never puts the signature or a secret in its reason', () => {
    const forged = sign(signedBody, 'attacker');
    const error = rejection(request(signedBody, { 'webhook-signature': forged }), [upstreamSecret]);
    expect(error?.reason).not.toContain(forged);
    expect(error?.reason).not.toContain(upstreamSecret);
    expect(error?.message).not.toContain(forged);
  });
});

describe('gocardless.verify agrees with the official gocardless-nodejs parser', () => {
  it('on the upstream vectors', () => {
    for (const vector of vectors.filter((v) => v.signature !== '')) {
      const body = fixture(vector.body_file);
      const ours = rejection(request(body, { 'webhook-signature': vector.signature }), [vector.secret]) === undefined;
      expect(officialAccepts(body, vector.secret, vector.signature)).toBe(ours);
    }
  });

  it('on arbitrary bodies and secrets, signed by sign, intact or tampered with', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }),
        fc.nat(),
        (bytes, secret, flipAt) => {
          const body = Buffer.from(bytes);
          const signature = sign(body, secret);
          expect(rejection(request(body, { 'webhook-signature': signature }), [secret])).toBeUndefined();
          expect(officialAccepts(body, secret, signature, officialVerify)).toBe(true);

          const tampered = Buffer.from(body);
          const index = flipAt % tampered.length;
          tampered[index] = (tampered[index] ?? 0) ^ 0xff;
          expect(rejection(request(tampered, { 'webhook-signature': signature }), [secret])?.status).toBe(498);
          expect(officialAccepts(tampered, secret, signature, officialVerify)).toBe(false);
        },
      ),
    );
  });
});

describe('gocardless.parse', () => {
  it('normalises the signed upstream body', () => {
    const events = gocardless.parse(request(signedBody));
    const raw = JSON.parse(signedBody.toString('utf8')) as { events: unknown[] };
    expect(events).toEqual([
      {
        provider: 'gocardless',
        id: 'EV00BD05S5VM2T',
        type: 'subscriptions.created',
        kind: 'unknown',
        occurredAt: '2018-07-05T09:13:51.404Z',
        references: { subscription: 'SB0003JJQ2MR06' },
        facts: {},
        details: { origin: 'api', cause: 'subscription_created', description: 'Subscription created via the API.' },
        payload: raw.events[0],
      },
      {
        provider: 'gocardless',
        id: 'EV00BD05TB8K63',
        type: 'mandates.created',
        kind: 'mandate.created',
        occurredAt: '2018-07-05T09:13:56.893Z',
        references: { mandate: 'MD000AMA19XGEC' },
        facts: {},
        details: { origin: 'api', cause: 'mandate_created', description: 'Mandate created via the API.' },
        payload: raw.events[1],
      },
    ]);
  });

  it('reads the same events from the pretty-printed and newline-terminated copies', () => {
    const expected = gocardless.parse(request(signedBody));
    expect(gocardless.parse(request(fixture('nodejs-src-fixtures-webhook_body.json')))).toEqual(expected);
    expect(gocardless.parse(request(fixture('pro-python-tests-fixtures-webhook_body.json')))).toEqual(expected);
  });

  it('normalises the failed payment from the Go library', () => {
    const [event, ...rest] = gocardless.parse(request(fixture('pro-go-testdata-webhook_request.json')));
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      id: 'EVTESTNE86TNZS',
      type: 'payments.failed',
      kind: 'payment.failed',
      occurredAt: '2017-03-20T17:57:02.292Z',
      references: { payment: 'index_ID_123' },
      facts: {},
      details: { origin: 'bank', cause: 'test_failure', scheme: 'sepa_core', reason_code: 'TEST' },
    });
    expect(event?.references).not.toHaveProperty('mandate');
    expect(event?.details).not.toHaveProperty('will_attempt_retry');
  });

  const kindOf = (resourceType: string, action: string): string | undefined =>
    gocardless.parse(request(JSON.stringify({ events: [event({ resource_type: resourceType, action })] })))[0]?.kind;

  it.each([
    ['mandates', 'created', 'mandate.created'],
    ['mandates', 'active', 'mandate.active'],
    ['mandates', 'cancelled', 'mandate.cancelled'],
    ['mandates', 'failed', 'mandate.failed'],
    ['mandates', 'expired', 'mandate.expired'],
    ['mandates', 'reinstated', 'mandate.reinstated'],
    ['mandates', 'replaced', 'mandate.replaced'],
    ['payments', 'failed', 'payment.failed'],
    ['payments', 'late_failure_settled', 'payment.failed'],
    ['payments', 'confirmed', 'payment.succeeded'],
    ['payments', 'paid_out', 'payment.succeeded'],
    ['payments', 'cancelled', 'payment.cancelled'],
    ['payments', 'charged_back', 'payment.charged_back'],
    ['subscriptions', 'payment_created', 'subscription.renewed'],
    ['subscriptions', 'cancelled', 'subscription.cancelled'],
    ['subscriptions', 'finished', 'subscription.expired'],
    ['subscriptions', 'paused', 'subscription.paused'],
    ['subscriptions', 'resumed', 'subscription.resumed'],
    ['refunds', 'created', 'refund.created'],
    ['refunds', 'paid', 'refund.paid'],
    ['refunds', 'failed', 'refund.failed'],
    ['mandates', 'transferred', 'unknown'],
    ['payments', 'resubmission_requested', 'unknown'],
    ['billing_requests', 'fulfilled', 'unknown'],
    ['toString', 'constructor', 'unknown'],
  ])('%s.%s → %s', (resourceType, action, kind) => {
    expect(kindOf(resourceType, action)).toBe(kind);
  });

  it('takes references from links, new_mandate as a fact, and keeps details that are present', () => {
    const [parsed] = gocardless.parse(
      request(
        JSON.stringify({
          events: [
            event({
              resource_type: 'mandates',
              action: 'replaced',
              links: { mandate: 'MD1', new_mandate: 'MD2', customer: 'CU1', organisation: 'OR1' },
              details: { cause: 'mandate_replaced', will_attempt_retry: false, not_retried_reason: 'failure_filter_applied', extra: 1 },
            }),
            event({ resource_type: 'refunds', action: 'paid', links: { refund: 'RF1', payment: 'PM1', subscription: 'SB1' } }),
          ],
          meta: { webhook_id: 'WB123' },
        }),
      ),
    );
    expect(parsed?.references).toEqual({ mandate: 'MD1', customer: 'CU1' });
    expect(parsed?.facts).toEqual({ providerWillRetry: false, replacementMandate: 'MD2' });
    expect(parsed?.details).toEqual({
      cause: 'mandate_replaced',
      will_attempt_retry: false,
      not_retried_reason: 'failure_filter_applied',
      new_mandate: 'MD2',
    });
    expect(parsed?.payload).toMatchObject({ links: { organisation: 'OR1' }, details: { extra: 1 } });
  });

  it('accepts a charset and an empty batch', () => {
    const events = gocardless.parse(request('{"events":[]}', { 'content-type': 'application/json; charset=utf-8' }));
    expect(events).toEqual([]);
  });

  it.each([
    ['text/plain', 'content type'],
    ['application/x-www-form-urlencoded', 'content type'],
    ['application/jsonp', 'content type'],
    [undefined, 'content type'],
  ])('refuses content type %s', (contentType, reason) => {
    const error = parseError(request(signedBody, { 'content-type': contentType }));
    expect(error.reason).toMatch(reason);
  });

  it.each([
    ['not JSON', '{"events":[', /not valid JSON/],
    ['empty body', '', /not valid JSON/],
    ['a JSON array', '[]', /not a GoCardless batch/],
    ['events not an array', '{"events":{}}', /events/],
    ['no events', '{"meta":{}}', /events/],
    ['an event without id', JSON.stringify({ events: [event({ id: undefined })] }), /events\[0\].*id/],
    ['a second event without action', JSON.stringify({ events: [event(), event({ action: '' })] }), /events\[1\].*action/],
    ['created_at not a time', JSON.stringify({ events: [event({ created_at: 'yesterday' })] }), /created_at/],
    ['a link that is not a string', JSON.stringify({ events: [event({ links: { mandate: 42 } })] }), /links\.mandate/],
    ['will_attempt_retry not a boolean', JSON.stringify({ events: [event({ details: { will_attempt_retry: 'yes' } })] }), /will_attempt_retry/],
  ])('refuses %s', (_case, body, reason) => {
    expect(parseError(request(body)).reason).toMatch(reason);
  });
});

function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'EV123',
    created_at: '2024-05-01T10:00:00.000Z',
    resource_type: 'mandates',
    action: 'cancelled',
    links: { mandate: 'MD123' },
    details: { origin: 'bank', cause: 'bank_account_closed' },
    metadata: {},
    ...overrides,
  };
}

const parseError = (req: WebhookRequest) => parseErrorOf(gocardless, req);
