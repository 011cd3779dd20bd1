import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountStateQuery } from '../../workflows/account';
import { eventually } from '../support/eventually';
import { uniqueId } from '../workflows/support/harness';
import { billforwardCredentials, postTriggered, recurlySecret, startBillflow, stripeSecret, type Billflow } from '../workflows/support/e2e';

/*
 * A closed account's notification ends access only once the provider confirms it (Recurly: an
 * account can reopen before its late `account.closed` arrives): signed webhooks into the real
 * receiver, the account workflow on the dev server, the provider read through the sandbox.
 */
describe('account.closed is confirmed with the provider before access ends', () => {
  let billflow: Billflow;

  beforeAll(async () => {
    billflow = await startBillflow();
  });

  afterAll(async () => {
    await billflow?.close();
  });

  it('Recurly: a closed account reopened since keeps access (recorded why); closed at Recurly, access ends', async () => {
    const { response, references } = await postTriggered(billflow, 'recurly', 'account.closed', {}, recurlySecret);
    expect(response.status).toBe(200);
    const code = references.customer;
    await eventually(async () => expect((await billflow.store.get('recurly', code))?.status).toBe('closed'));

    // Reopened at Recurly before a late notice of its closing arrives.
    const reopened = uniqueId('reopened-');
    billflow.sandbox.state.recurly.seedAccount({ code: reopened, state: 'active' });
    await postTriggered(billflow, 'recurly', 'account.closed', { customer: reopened }, recurlySecret, { seed: false });
    const handle = billflow.client.workflow.getHandle(`recurly:account:${reopened}`);
    await eventually(async () =>
      expect((await handle.query(accountStateQuery)).lastEvent?.outcome).toBe(`ignored: account.closed not confirmed: recurly shows account ${reopened} active; access kept`),
    );
    expect(await billflow.store.get('recurly', reopened)).toMatchObject({ status: 'active', access: true });
    expect(billflow.sandbox.requests.some((request) => request.provider === 'recurly' && request.path.endsWith(`/accounts/code-${reopened}`))).toBe(true);
  });

  it('Stripe: customer.deleted ends access once Stripe shows the customer deleted, not while it is live', async () => {
    const deleted = await postTriggered(billflow, 'stripe', 'customer.deleted', {}, stripeSecret);
    expect(deleted.response.status).toBe(200);
    await eventually(async () => expect((await billflow.store.get('stripe', deleted.references.customer))?.status).toBe('closed'));

    const live = uniqueId('cus_');
    billflow.sandbox.state.stripe.seedCustomer({ id: live });
    await postTriggered(billflow, 'stripe', 'customer.deleted', { customer: live }, stripeSecret, { seed: false });
    const handle = billflow.client.workflow.getHandle(`stripe:account:${live}`);
    await eventually(async () => expect((await handle.query(accountStateQuery)).lastEvent?.outcome).toBe(`ignored: customer.deleted not confirmed: stripe shows account ${live} live; access kept`));
    expect((await billflow.store.get('stripe', live))?.status).toBe('active');
  });

  it('BillForward: Account.Deleted ends access once BillForward shows the account deleted, not while it is not', async () => {
    const deleted = await postTriggered(billflow, 'billforward', 'Account.Deleted', {}, billforwardCredentials);
    expect(deleted.response.status).toBe(200);
    await eventually(async () => expect((await billflow.store.get('billforward', deleted.references.customer))?.status).toBe('closed'));

    const kept = uniqueId('ACC-');
    billflow.sandbox.state.billforward.seedAccount({ id: kept });
    await postTriggered(billflow, 'billforward', 'Account.Deleted', { customer: kept }, billforwardCredentials, { seed: false });
    const handle = billflow.client.workflow.getHandle(`billforward:account:${kept}`);
    await eventually(async () => expect((await handle.query(accountStateQuery)).lastEvent?.outcome).toBe(`ignored: Account.Deleted not confirmed: billforward shows account ${kept} active; access kept`));
    expect((await billflow.store.get('billforward', kept))?.status).toBe('active');
  });
});
