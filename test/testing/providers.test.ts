import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { findProvider } from '../../src/receiver/providers';
import { devWebhookSecret } from '../../src/testing/dev-secrets';
import { devWebhookStandIns } from '../../src/testing/providers';

/** Whether the receiver loaded from `environment` plus dev's stand-ins accepts a CCBill delivery from `ip`. */
function ccbillAcceptsFrom(environment: Record<string, string>, ip: string): boolean {
  const config = loadConfig({ ...environment, ...devWebhookStandIns(loadConfig(environment), environment) });
  const request = { rawBody: Buffer.from('eventType=Cancellation'), headers: { 'content-type': 'application/x-www-form-urlencoded' }, query: {}, ip };
  try {
    findProvider('ccbill')?.verify(request, config);
    return true;
  } catch {
    return false;
  }
}

describe("dev's webhook stand-ins", () => {
  it('give every provider without a secret the dev secret, and leave configured ones alone', () => {
    const standIns = devWebhookStandIns(loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_own' }), { STRIPE_WEBHOOK_SECRET: 'whsec_own' });
    expect(standIns).toMatchObject({ GOCARDLESS_WEBHOOK_SECRET: devWebhookSecret, RECURLY_WEBHOOK_SECRET: devWebhookSecret, BILLFORWARD_WEBHOOK_BASIC_AUTH: `billflow:${devWebhookSecret}` });
    expect(standIns).not.toHaveProperty('STRIPE_WEBHOOK_SECRET');
  });

  it("accept CCBill deliveries from this machine beside CCBill's published addresses when none are configured", () => {
    expect(ccbillAcceptsFrom({}, '127.0.0.1')).toBe(true);
    expect(ccbillAcceptsFrom({}, '64.38.212.10')).toBe(true);
    expect(ccbillAcceptsFrom({}, '203.0.113.9')).toBe(false);
  });

  it('leave CCBILL_ALLOWED_IPS as the operator set it: this machine is not added', () => {
    const environment = { CCBILL_ALLOWED_IPS: '198.51.100.0/24' };
    expect(devWebhookStandIns(loadConfig(environment), environment)).not.toHaveProperty('CCBILL_ALLOWED_IPS');
    expect(ccbillAcceptsFrom(environment, '127.0.0.1')).toBe(false);
    expect(ccbillAcceptsFrom(environment, '198.51.100.7')).toBe(true);
  });
});
