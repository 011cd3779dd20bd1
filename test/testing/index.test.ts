import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { providerNames } from '../../src/providers/registry';
import { findProvider } from '../../src/receiver/providers';
import { buildWebhook, receiverEnvironment, signWebhookBody, webhookEvents } from '../../src/testing';

/*
 * billflow/testing's webhooks are what the receiver accepts: every event of every provider, built
 * and signed with a secret, verifies with the receiver's own check for that secret and parses.
 */
describe('billflow/testing webhooks', () => {
  it.each(providerNames)('builds every %s event signed so that the receiver verifies and parses it', (provider) => {
    const secret = provider === 'billforward' ? 'tester:testing-entry-secret' : 'testing-entry-secret';
    const config = loadConfig({ ...receiverEnvironment(provider, secret), CCBILL_ALLOWED_IPS: '127.0.0.1' });
    const receiver = findProvider(provider)!;
    for (const event of webhookEvents(provider)) {
      const webhook = buildWebhook(provider, event, { secret, references: { customer: 'CUSTOMER1' } });
      expect(webhook.references.customer).toBe('CUSTOMER1');
      const request = { rawBody: Buffer.from(webhook.body), headers: lowerCase(webhook.headers), query: webhook.query ?? {}, ip: '127.0.0.1' };
      expect(() => receiver.verify(request, config), `${provider} ${event}`).not.toThrow();
      expect(receiver.parse(request).length, `${provider} ${event}`).toBeGreaterThan(0);
      // The same bytes signed with another secret are refused.
      if (provider === 'ccbill') continue;
      const forged = { ...request, headers: lowerCase({ ...webhook.headers, ...signWebhookBody(provider, webhook.body, provider === 'billforward' ? 'tester:other' : 'other', { contentType: request.headers['content-type'] }) }) };
      expect(() => receiver.verify(forged, config), `${provider} ${event} forged`).toThrow();
    }
  });

  it('names things as the providers do: Stripe evt_/sub_/in_/cus_ ids, a BillForward invoice notification naming the invoice\'s version', () => {
    const stripe = buildWebhook('stripe', 'invoice.payment_failed');
    expect(JSON.parse(stripe.body)).toMatchObject({ id: expect.stringMatching(/^evt_[A-Za-z0-9]{24}$/), data: { object: { id: expect.stringMatching(/^in_/), customer: expect.stringMatching(/^cus_/) } } });
    expect(stripe.references).toMatchObject({ subscription: expect.stringMatching(/^sub_/), invoice: expect.stringMatching(/^in_/), customer: expect.stringMatching(/^cus_/) });

    const billforward = buildWebhook('billforward', 'Invoice.PaymentFailed', { secret: 'tester:testing-entry-secret' });
    const notification = JSON.parse(billforward.body) as { entityID: string; entity: string };
    const entity = JSON.parse(notification.entity) as { id: string; versionID: string };
    expect(entity.id).toBe(billforward.references.invoice);
    expect(notification.entityID).toBe(entity.versionID);
    expect(notification.entityID).not.toBe(entity.id);
    const request = { rawBody: Buffer.from(billforward.body), headers: lowerCase(billforward.headers), query: {}, ip: '127.0.0.1' };
    expect(findProvider('billforward')!.parse(request)[0]?.references.invoice).toBe(entity.id);
  });

  it('names the events it knows when asked for another', () => {
    expect(() => buildWebhook('stripe', 'no.such.event')).toThrow(/known: .*invoice\.payment_failed/);
  });
});

function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
