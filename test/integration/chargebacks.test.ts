import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptionStateQuery } from '../../workflows/subscription';
import { DeadLetterStore } from '../../src/store/dead-letter-store';
import { eventually } from '../support/eventually';
import { goCardlessBatch, goCardlessSecret, postGoCardless, postTriggered, startBillflow, stripeSecret, type Billflow } from '../workflows/support/e2e';
import { uniqueId } from '../workflows/support/harness';
import { keepHistory } from '../workflows/support/histories';

/*
 * Money that comes back, end to end: signed webhooks into the real receiver, the resolver and the
 * subscription workflow on the dev server, the provider confirmed through the sandbox, every step
 * read back from the account's history as `/accounts` serves it.
 */
function seedGoCardless(billflow: Billflow, paymentStatus: 'charged_back' | 'confirmed' | 'paid_out') {
  const customer = uniqueId('CU');
  const mandate = billflow.sandbox.seedMandate({ customerId: customer, status: 'active' });
  const subscription = billflow.sandbox.state.gocardless.seedSubscription({ mandateId: mandate.id });
  const payment = billflow.sandbox.seedPayment({ mandateId: mandate.id, subscriptionId: subscription.id, status: paymentStatus });
  return { customer, subscription: subscription.id, payment: payment.id };
}

async function paymentEvent(billflow: Billflow, action: string, payment: string): Promise<void> {
  const response = await postGoCardless(billflow.receiver, goCardlessBatch([{ resource_type: 'payments', action, links: { payment } }]).body);
  expect(response.status).toBe(200);
}

const historyOf = async (billflow: Billflow, provider: 'gocardless' | 'ccbill' | 'stripe', customer: string) =>
  (await billflow.store.get(provider, customer))?.history.map((change) => [change.action, change.reason, change.changed]);

describe('chargebacks, refunds and voids from signed webhooks', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow();
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it('GoCardless: a confirmed chargeback suspends the account (reason chargeback); its cancellation reinstates it', async () => {
    const { customer, payment, subscription } = seedGoCardless(billflow, 'charged_back');
    await paymentEvent(billflow, 'charged_back', payment);
    await eventually(async () => expect(await billflow.store.get('gocardless', customer)).toMatchObject({ status: 'suspended', reason: 'chargeback', access: false }));
    const handle = billflow.client.workflow.getHandle(`gocardless:subscription:${subscription}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('suspended'));

    billflow.sandbox.state.gocardless.setPaymentStatus(payment, 'paid_out');
    await paymentEvent(billflow, 'chargeback_cancelled', payment);
    await eventually(async () => expect((await billflow.store.get('gocardless', customer))?.status).toBe('active'));
    expect(await historyOf(billflow, 'gocardless', customer)).toEqual([
      ['suspend', 'chargeback', true],
      ['reinstate', `chargeback of ${payment} reversed (payments.chargeback_cancelled)`, true],
    ]);
    expect((await handle.query(subscriptionStateQuery)).status).toBe('active');
  });

  it('GoCardless: a settled chargeback (the dispute lost) keeps the account suspended and says so in its history', async () => {
    const { customer, payment } = seedGoCardless(billflow, 'charged_back');
    await paymentEvent(billflow, 'charged_back', payment);
    await paymentEvent(billflow, 'chargeback_settled', payment);
    await eventually(async () => expect(await historyOf(billflow, 'gocardless', customer)).toHaveLength(2));
    expect(await historyOf(billflow, 'gocardless', customer)).toEqual([
      ['suspend', 'chargeback', true],
      ['record', `chargeback of ${payment} lost (payments.chargeback_settled)`, false],
    ]);
    expect((await billflow.store.get('gocardless', customer))?.status).toBe('suspended');
  });

  it('GoCardless: the payment collected again reinstates what the chargeback suspended', async () => {
    const { customer, payment } = seedGoCardless(billflow, 'charged_back');
    await paymentEvent(billflow, 'charged_back', payment);
    await eventually(async () => expect((await billflow.store.get('gocardless', customer))?.status).toBe('suspended'));
    billflow.sandbox.state.gocardless.setPaymentStatus(payment, 'confirmed');
    await paymentEvent(billflow, 'confirmed', payment);
    await eventually(async () => expect((await billflow.store.get('gocardless', customer))?.status).toBe('active'));
  });

  it('GoCardless: a chargeback GoCardless does not show changes nothing', async () => {
    const { customer, payment, subscription } = seedGoCardless(billflow, 'confirmed');
    await paymentEvent(billflow, 'charged_back', payment);
    const handle = billflow.client.workflow.getHandle(`gocardless:subscription:${subscription}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe(`ignored: gocardless says ${payment} is confirmed, not charged back`));
    expect(await billflow.store.get('gocardless', customer)).toBeUndefined();
  });

  it('GoCardless: a refund is recorded on the account, access unchanged', async () => {
    const { response, references } = await postTriggered(billflow, 'gocardless', 'refunds.paid', {}, goCardlessSecret);
    expect(response.status).toBe(200);
    await eventually(async () => expect(await historyOf(billflow, 'gocardless', references.customer)).toEqual([['record', expect.stringMatching(/^refund\.paid /), false]]));
    expect((await billflow.store.get('gocardless', references.customer))?.status).toBe('active');
  });

  it('Stripe: a dispute is confirmed with Stripe and traced through its payment intent\'s invoice to the subscription, which suspends (chargeback); the dispute won reinstates', async () => {
    const created = await postTriggered(billflow, 'stripe', 'charge.dispute.created', {}, stripeSecret);
    expect(created.response.status).toBe(200);
    const { customer, subscription, invoice, payment } = created.references;
    await eventually(async () => expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'suspended', reason: 'chargeback', access: false }));
    const handle = billflow.client.workflow.getHandle(`stripe:subscription:${subscription}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).status).toBe('suspended'));
    // Confirmed with the dispute itself, and traced by the invoice payment of its payment intent.
    const asked = billflow.sandbox.requests.filter((request) => request.provider === 'stripe').map((request) => `${request.method} ${request.path.replace(/^\/stripe/, '')}`);
    expect(asked).toEqual(expect.arrayContaining([`GET /v1/invoice_payments`, `GET /v1/invoices/${invoice}`, `GET /v1/disputes/du_${payment?.slice(3)}`]));

    const closed = await postTriggered(billflow, 'stripe', 'charge.dispute.closed', created.references, stripeSecret);
    expect(closed.response.status).toBe(200);
    await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('active'));
    // Stripe's word that the funds came back is the same reversal: nothing more happens.
    await postTriggered(billflow, 'stripe', 'charge.dispute.funds_reinstated', created.references, stripeSecret);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe(`ignored: the chargeback of ${invoice} is already reversed`));
    expect(await historyOf(billflow, 'stripe', customer)).toEqual([
      ['suspend', 'chargeback', true],
      ['reinstate', `chargeback of ${invoice} reversed (charge.dispute.closed)`, true],
    ]);
    await keepHistory(handle, 'subscription-stripe-dispute-won');
  });

  it('Stripe: a dispute lost keeps the account suspended; an inquiry (no money taken) suspends nothing', async () => {
    const created = await postTriggered(billflow, 'stripe', 'charge.dispute.created', {}, stripeSecret);
    const { customer, invoice } = created.references;
    await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('suspended'));
    await postTriggered(billflow, 'stripe', 'charge.dispute.closed:lost', created.references, stripeSecret);
    await eventually(async () => expect(await historyOf(billflow, 'stripe', customer)).toEqual([
      ['suspend', 'chargeback', true],
      ['record', `chargeback of ${invoice} lost (charge.dispute.closed)`, false],
    ]));
    expect((await billflow.store.get('stripe', customer))?.status).toBe('suspended');

    // An inquiry: Stripe shows the dispute as warning_needs_response, so no money has gone back yet.
    const stripe = billflow.sandbox.state.stripe;
    const inquiry = { customer: uniqueId('cus_'), subscription: uniqueId('sub_'), invoice: uniqueId('in_'), payment: uniqueId('ch_') };
    stripe.seedSubscription({ id: inquiry.subscription, customerId: inquiry.customer });
    stripe.seedInvoice({ id: inquiry.invoice, customerId: inquiry.customer, subscriptionId: inquiry.subscription, status: 'paid' });
    stripe.disputes.seedCharge({ id: inquiry.payment, customerId: inquiry.customer, paymentIntentId: `pi_${inquiry.payment.slice(3)}`, invoiceId: inquiry.invoice });
    stripe.disputes.seedDispute({ id: `du_${inquiry.payment.slice(3)}`, chargeId: inquiry.payment, status: 'warning_needs_response' });
    expect((await postTriggered(billflow, 'stripe', 'charge.dispute.created', inquiry, stripeSecret, { seed: false })).response.status).toBe(200);
    const handle = billflow.client.workflow.getHandle(`stripe:subscription:${inquiry.subscription}`);
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe(`ignored: stripe says ${inquiry.invoice} is dispute warning_needs_response, not charged back`));
    expect(await billflow.store.get('stripe', inquiry.customer)).toBeUndefined();
  });

  it('Stripe: a dispute of a charge that paid no invoice (a one-off payment) is kept as a dead letter, naming the charge\'s payment', async () => {
    const stripe = billflow.sandbox.state.stripe;
    const [customer, payment] = [uniqueId('cus_'), uniqueId('ch_')];
    stripe.disputes.seedCharge({ id: payment, customerId: customer, paymentIntentId: `pi_${payment.slice(3)}` });
    stripe.disputes.seedDispute({ id: `du_${payment.slice(3)}`, chargeId: payment });
    const { response, built } = await postTriggered(billflow, 'stripe', 'charge.dispute.created', { customer, payment }, stripeSecret, { seed: false });
    expect(response.status).toBe(200);
    const eventId = (JSON.parse(built.body) as { id: string }).id;
    const letters = new DeadLetterStore(billflow.store.database);
    const kept = await eventually(async () => {
      const letter = (await letters.list({ kind: 'unresolved_payment' })).find((candidate) => candidate.eventIds.includes(eventId));
      expect(letter).toBeDefined();
      return letter;
    });
    expect(kept).toMatchObject({ provider: 'stripe', workflowId: `stripe:payment:pi_${payment.slice(3)}`, reason: `payment pi_${payment.slice(3)} belongs to no subscription` });
    expect(await billflow.store.get('stripe', customer)).toBeUndefined();
  });

  it('CCBill: Chargeback and Return suspend (CCBill cannot be asked: its verified webhook stands); Refund and Void are recorded', async () => {
    const { response, references } = await postTriggered(billflow, 'ccbill', 'Chargeback', {}, '');
    expect(response.status).toBe(200);
    const customer = references.subscription ?? '';
    await eventually(async () => expect(await billflow.store.get('ccbill', customer)).toMatchObject({ status: 'suspended', reason: 'chargeback' }));
    await postTriggered(billflow, 'ccbill', 'Refund', { ...references, payment: uniqueId('') }, '');
    await postTriggered(billflow, 'ccbill', 'Void', { ...references, payment: uniqueId('') }, '');
    await eventually(async () => expect((await historyOf(billflow, 'ccbill', customer))?.map(([action]) => action)).toEqual(['suspend', 'record', 'record']));

    const returned = await postTriggered(billflow, 'ccbill', 'Return', {}, '');
    await eventually(async () => expect(await billflow.store.get('ccbill', returned.references.subscription ?? '')).toMatchObject({ status: 'suspended', reason: 'chargeback' }));
  });
});

describe('chargebacks only recorded (BILLFLOW_CHARGEBACK_REACTION=record)', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow({ BILLFLOW_CHARGEBACK_REACTION: 'record' });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it('records the confirmed chargeback and keeps access', async () => {
    const { customer, payment } = seedGoCardless(billflow, 'charged_back');
    await paymentEvent(billflow, 'charged_back', payment);
    await eventually(async () => expect(await historyOf(billflow, 'gocardless', customer)).toEqual([['record', `chargeback of ${payment} (payments.charged_back), recorded only`, false]]));
    expect((await billflow.store.get('gocardless', customer))?.status).toBe('active');
  });
});

describe('a chargeback over a dunning suspension (reinstating after dunning lifts only a dunning suspension)', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    // One retry of billflow's own, soon: the schedule runs out within the test.
    billflow = await startBillflow({ BILLFLOW_DUNNING_SCHEDULE: '300ms' });
  });

  afterAll(async () => {
    await billflow?.close();
  });

  /** A subscription whose invoice `unpaid` exhausted billflow's dunning (account suspended), with a paid invoice whose charge is then disputed. */
  async function suspendedForDunningThenDisputed() {
    const stripe = billflow.sandbox.state.stripe;
    const ids = { customer: uniqueId('cus_'), subscription: uniqueId('sub_'), unpaid: uniqueId('in_'), disputed: uniqueId('in_'), payment: uniqueId('ch_') };
    stripe.seedSubscription({ id: ids.subscription, customerId: ids.customer, status: 'past_due' });
    stripe.seedInvoice({ id: ids.unpaid, customerId: ids.customer, subscriptionId: ids.subscription, nextOutcome: 'decline' });
    stripe.seedInvoice({ id: ids.disputed, customerId: ids.customer, subscriptionId: ids.subscription, status: 'paid' });
    stripe.disputes.seedCharge({ id: ids.payment, customerId: ids.customer, paymentIntentId: `pi_${ids.payment.slice(3)}`, invoiceId: ids.disputed });
    const references = { customer: ids.customer, subscription: ids.subscription };
    // The customer must authenticate and Stripe plans no attempt: billflow's schedule passes without retries and runs out.
    const failed = await postTriggered(billflow, 'stripe', 'invoice.payment_action_required', { ...references, invoice: ids.unpaid }, stripeSecret, { seed: false });
    expect(failed.response.status).toBe(200);
    await eventually(async () => expect(await billflow.store.get('stripe', ids.customer)).toMatchObject({ status: 'suspended', reason: `dunning exhausted for ${ids.unpaid}` }));

    stripe.disputes.seedDispute({ id: `du_${ids.payment.slice(3)}`, chargeId: ids.payment });
    await postTriggered(billflow, 'stripe', 'charge.dispute.created', { ...references, payment: ids.payment }, stripeSecret, { seed: false });
    await eventually(async () => expect(await billflow.store.get('stripe', ids.customer)).toMatchObject({ status: 'suspended', reason: 'chargeback' }));
    return { ...ids, references, handle: billflow.client.workflow.getHandle(`stripe:subscription:${ids.subscription}`) };
  }

  it('the unpaid invoice paid leaves the account suspended for the chargeback; the dispute won then reinstates it', async () => {
    const { customer, unpaid, disputed, payment, references, handle } = await suspendedForDunningThenDisputed();
    billflow.sandbox.state.stripe.invoices.get(unpaid)!.status = 'paid';
    await postTriggered(billflow, 'stripe', 'invoice.paid', { ...references, invoice: unpaid }, stripeSecret, { seed: false });
    await eventually(async () => expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe(`dunning for ${unpaid} ended: paid; the account stays suspended for another reason`));
    expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'suspended', reason: 'chargeback', access: false });

    billflow.sandbox.state.stripe.disputes.disputes.get(`du_${payment.slice(3)}`)!.status = 'won';
    await postTriggered(billflow, 'stripe', 'charge.dispute.closed', { ...references, payment }, stripeSecret, { seed: false });
    await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('active'));
    expect((await historyOf(billflow, 'stripe', customer))?.filter(([action]) => action !== 'record')).toEqual([
      ['suspend', `dunning exhausted for ${unpaid}`, true],
      ['suspend', 'chargeback', true],
      ['reinstate', `payment received for ${unpaid}`, false],
      ['reinstate', `chargeback of ${disputed} reversed (charge.dispute.closed)`, true],
    ]);
    await keepHistory(handle, 'subscription-chargeback-over-dunning-suspension');
  });

  it('the dispute won while the invoice is still unpaid hands the suspension back to its dunning; the payment then reinstates', async () => {
    const { customer, unpaid, disputed, payment, references, handle } = await suspendedForDunningThenDisputed();
    billflow.sandbox.state.stripe.disputes.disputes.get(`du_${payment.slice(3)}`)!.status = 'won';
    await postTriggered(billflow, 'stripe', 'charge.dispute.closed', { ...references, payment }, stripeSecret, { seed: false });
    await eventually(async () =>
      expect((await handle.query(subscriptionStateQuery)).lastEvent?.outcome).toBe(
        `chargeback of ${disputed} reversed (charge.dispute.closed): the account stays suspended, ${unpaid} is still unpaid`,
      ),
    );
    expect(await billflow.store.get('stripe', customer)).toMatchObject({ status: 'suspended', reason: `dunning exhausted for ${unpaid}` });

    billflow.sandbox.state.stripe.invoices.get(unpaid)!.status = 'paid';
    await postTriggered(billflow, 'stripe', 'invoice.paid', { ...references, invoice: unpaid }, stripeSecret, { seed: false });
    await eventually(async () => expect((await billflow.store.get('stripe', customer))?.status).toBe('active'));
  });
});
