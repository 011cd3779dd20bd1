import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import type { ProviderName } from '../../src/core/events';
import { providerNames } from '../../src/providers/registry';
import { findProvider } from '../../src/receiver/providers';
import { VerificationError } from '../../src/providers/types';
import { signWebhookBody } from '../../src/testing/sign';
import { webhookTemplates } from '../../src/testing/webhooks';

const now = new Date('2025-06-01T12:00:00Z');

/** A receiver's config accepting `provider`'s deliveries signed with `secret`, as `trigger` documents it. */
function receiverConfig(provider: ProviderName, secret: string) {
  const template = webhookTemplates.get(provider);
  if (!template) throw new Error(`no webhook template for ${provider}`);
  return loadConfig(template.receiverEnvironment(secret));
}

function verifies(provider: ProviderName, body: string, headers: Record<string, string>, secret: string): boolean {
  const registered = findProvider(provider);
  if (!registered) throw new Error(`billflow has no provider ${provider}`);
  try {
    registered.verify({ rawBody: Buffer.from(body), headers: { 'content-type': 'application/json', ...headers }, query: {}, ip: '127.0.0.1' }, receiverConfig(provider, secret), now);
    return true;
  } catch (error) {
    if (error instanceof VerificationError) return false;
    throw error;
  }
}

describe('signWebhookBody', () => {
  const secrets: Record<ProviderName, string> = {
    gocardless: 'gocardless-secret',
    stripe: 'whsec_stripe_secret',
    recurly: 'recurly-secret',
    billforward: 'billforward:password',
    ccbill: '',
  };

  it('knows every provider the receiver serves', () => {
    expect([...providerNames].sort()).toEqual(Object.keys(secrets).sort());
  });

  it.each(Object.entries(secrets) as [ProviderName, string][])('%s: the receiver configured for the secret accepts what it signs, and not a body it did not sign', (provider, secret) => {
    const body = '{"id":"signed"}';
    const headers = signWebhookBody(provider, body, secret, { now });
    expect(verifies(provider, body, headers, secret)).toBe(true);
    // HTTP Basic (BillForward) and the source address (CCBill) vouch for the sender, not for the bytes.
    if (provider !== 'billforward' && provider !== 'ccbill') expect(verifies(provider, '{"id":"changed"}', headers, secret)).toBe(false);
  });

  it('writes what the provider\'s own sign writes', () => {
    expect(signWebhookBody('stripe', '{}', 'whsec_x', { now })).toEqual({ 'stripe-signature': expect.stringMatching(/^t=1748779200,v1=[0-9a-f]{64}$/) });
    expect(signWebhookBody('recurly', '<x/>', 'user:password', { contentType: 'application/xml' })).toEqual({ authorization: 'Basic dXNlcjpwYXNzd29yZA==' });
  });
});
