import type { Router } from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { addCollectionRoutes } from '../../../testing/sandbox/control-routes';
import { onRecord, type RecordFinder } from '../../../testing/sandbox/provider-api';
import { mixedId } from '../../../testing/webhooks/ids';

/*
 * The sandbox's Stripe charges, the invoice payments that tie a payment intent to the invoice it
 * paid, and disputes of those charges: what billflow reads to confirm a dispute and find its
 * subscription. Shaped as API version 2025-03-31 and later, where neither a charge nor a payment
 * intent names its invoice any more (`GET /v1/invoice_payments?payment[type]=payment_intent&…` does).
 */

export const disputeStatuses = [
  'warning_needs_response',
  'warning_under_review',
  'warning_closed',
  'needs_response',
  'under_review',
  'appeal_needs_response',
  'appeal_under_review',
  'won',
  'lost',
  'prevented',
] as const;

export interface StripeChargeRecord {
  id: string;
  customerId: string | null;
  paymentIntentId: string | null;
  /** The invoice it paid, if any: listed as an invoice payment of its payment intent. */
  invoiceId: string | null;
  invoicePaymentId: string;
  amount: number;
  created: number;
}

export interface StripeDisputeRecord {
  id: string;
  chargeId: string;
  status: (typeof disputeStatuses)[number];
  reason: string;
  amount: number;
  created: number;
}

export const stripeChargeSeed = z.object({
  id: z.string().regex(/^(ch|py)_\w+$/, 'a Stripe charge id starts with ch_').optional(),
  customerId: z.string().min(1).nullable().default(null),
  paymentIntentId: z.string().regex(/^pi_\w+$/, 'a Stripe payment intent id starts with pi_').nullable().default(null),
  invoiceId: z.string().min(1).nullable().default(null),
  amount: z.number().int().positive().default(2000),
});
export const stripeDisputeSeed = z.object({
  id: z.string().regex(/^(du|dp)_\w+$/, 'a Stripe dispute id starts with du_').optional(),
  chargeId: z.string().min(1),
  status: z.enum(disputeStatuses).default('needs_response'),
  reason: z.string().min(1).default('fraudulent'),
});
export type StripeChargeSeed = z.input<typeof stripeChargeSeed>;
export type StripeDisputeSeed = z.input<typeof stripeDisputeSeed>;

type RenderError = (ctx: Context, status: number, error: { type: string; message: string; code?: string; param?: string }) => void;

const invoicePaymentParams = /^(invoice|status|limit|starting_after|ending_before|payment\[(type|payment_intent|payment_record)\]|expand\[\d*\])$/;

const now = () => Math.floor(Date.now() / 1000);

export class StripeDisputes {
  readonly charges = new Map<string, StripeChargeRecord>();
  readonly disputes = new Map<string, StripeDisputeRecord>();

  seedCharge(seed: StripeChargeSeed): StripeChargeRecord {
    const fields = stripeChargeSeed.parse(seed);
    const charge: StripeChargeRecord = {
      ...fields,
      id: fields.id ?? mixedId('ch_', 24),
      invoicePaymentId: mixedId('inpay_', 24),
      created: now(),
    };
    this.charges.set(charge.id, charge);
    return charge;
  }

  /** A dispute of a charge the sandbox has: Stripe opens disputes only on charges it made. */
  seedDispute(seed: StripeDisputeSeed): StripeDisputeRecord {
    const fields = stripeDisputeSeed.parse(seed);
    const charge = this.charges.get(fields.chargeId);
    if (!charge) throw new Error(`no sandbox Stripe charge ${fields.chargeId} to dispute`);
    const dispute: StripeDisputeRecord = { ...fields, id: fields.id ?? mixedId('du_', 24), amount: charge.amount, created: now() };
    this.disputes.set(dispute.id, dispute);
    return dispute;
  }

  clear(): void {
    this.charges.clear();
    this.disputes.clear();
  }

  addApiRoutes(router: Router, renderError: RenderError): void {
    const finder = <T>(records: Map<string, T>, noun: string, param: string): RecordFinder<T> => (ctx, id) => {
      const record = records.get(id);
      if (!record) renderError(ctx, 404, { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${noun}: '${id}'` });
      return record;
    };
    const findCharge = finder(this.charges, 'charge', 'id');
    const findDispute = finder(this.disputes, 'dispute', 'dispute');
    router.get('/v1/charges/:id', onRecord(findCharge, (ctx, charge) => {
      ctx.body = this.chargeJson(charge);
    }));
    router.get('/v1/disputes/:id', onRecord(findDispute, (ctx, dispute) => {
      ctx.body = this.disputeJson(dispute);
    }));
    router.get('/v1/invoice_payments', (ctx) => {
      const answer = this.listInvoicePayments(new URLSearchParams(ctx.querystring));
      if ('error' in answer) return renderError(ctx, 400, { type: 'invalid_request_error', ...answer.error });
      ctx.body = answer;
    });
  }

  addControlRoutes(router: Router): void {
    addCollectionRoutes(router, 'charges', { records: this.charges, seed: { schema: stripeChargeSeed, create: (fields) => this.seedCharge(fields) } });
    addCollectionRoutes(router, 'disputes', {
      records: this.disputes,
      seed: { schema: stripeDisputeSeed, create: (fields) => this.seedDispute(fields) },
      change: { schema: z.object({ status: z.enum(disputeStatuses).optional() }), noun: 'Stripe dispute' },
    });
  }

  /**
   * `GET /v1/invoice_payments`, filtered by `invoice`, `status` and `payment[…]` (whose `type` Stripe
   * requires), `limit` 1–100, paged by id; unknown parameters refused as Stripe refuses them.
   */
  private listInvoicePayments(params: URLSearchParams): { object: 'list'; url: string; has_more: boolean; data: unknown[] } | { error: { message: string; param: string } } {
    for (const name of new Set(params.keys())) {
      if (!invoicePaymentParams.test(name)) return { error: { message: `Received unknown parameter: ${name}`, param: name } };
    }
    const type = params.get('payment[type]');
    const byPayment = params.get('payment[payment_intent]') ?? params.get('payment[payment_record]');
    if (byPayment !== null && type === null) return { error: { message: 'Missing required param: payment[type].', param: 'payment[type]' } };
    if (type !== null && type !== 'payment_intent' && type !== 'payment_record') {
      return { error: { message: `Invalid payment[type]: must be one of payment_intent or payment_record`, param: 'payment[type]' } };
    }
    const limitText = params.get('limit');
    const limit = limitText === null ? 10 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return { error: { message: 'This value must be greater than or equal to 1 and less than or equal to 100.', param: 'limit' } };
    }
    const invoice = params.get('invoice');
    const status = params.get('status');
    const paid = [...this.charges.values()].filter(
      (charge) =>
        charge.invoiceId !== null &&
        charge.paymentIntentId !== null &&
        (invoice === null || charge.invoiceId === invoice) &&
        (type === null || (type === 'payment_intent' && (byPayment === null || charge.paymentIntentId === byPayment))) &&
        (status === null || status === 'paid'),
    );
    const after = params.get('starting_after');
    const from = after === null ? 0 : paid.findIndex((charge) => charge.invoicePaymentId === after) + 1;
    const page = paid.slice(from, from + limit);
    return { object: 'list', url: '/v1/invoice_payments', has_more: from + limit < paid.length, data: page.map((charge) => this.invoicePaymentJson(charge)) };
  }

  private chargeJson(charge: StripeChargeRecord) {
    const disputed = [...this.disputes.values()].some((dispute) => dispute.chargeId === charge.id);
    return {
      id: charge.id,
      object: 'charge',
      amount: charge.amount,
      amount_captured: charge.amount,
      amount_refunded: 0,
      captured: true,
      currency: 'usd',
      customer: charge.customerId,
      disputed,
      livemode: false,
      paid: true,
      payment_intent: charge.paymentIntentId,
      refunded: false,
      status: 'succeeded',
      created: charge.created,
    };
  }

  private disputeJson(dispute: StripeDisputeRecord) {
    return {
      id: dispute.id,
      object: 'dispute',
      amount: dispute.amount,
      balance_transactions: [],
      charge: dispute.chargeId,
      currency: 'usd',
      is_charge_refundable: false,
      livemode: false,
      payment_intent: this.charges.get(dispute.chargeId)?.paymentIntentId ?? null,
      reason: dispute.reason,
      status: dispute.status,
      created: dispute.created,
    };
  }

  private invoicePaymentJson(charge: StripeChargeRecord) {
    return {
      id: charge.invoicePaymentId,
      object: 'invoice_payment',
      amount_paid: charge.amount,
      amount_requested: charge.amount,
      created: charge.created,
      currency: 'usd',
      invoice: charge.invoiceId,
      is_default: true,
      livemode: false,
      payment: { type: 'payment_intent', payment_intent: charge.paymentIntentId },
      status: 'paid',
      status_transitions: { canceled_at: null, paid_at: charge.created },
    };
  }
}
