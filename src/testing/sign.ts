import type { ProviderName } from '../core/events';
import { providers } from '../providers/registry';
import type { SigningOptions } from '../providers/types';

export type { SigningOptions } from '../providers/types';

/**
 * The headers with which `provider` would deliver `body`, signed with `secret` (an HMAC key, or
 * `user:password` for HTTP Basic: BillForward, Recurly XML with `contentType`), as the receiver
 * verifies them. Content-Type and the provider's other headers are the caller's. For a body of
 * your own; `buildWebhook` (`./index.ts`) builds the provider's event as well.
 */
export function signWebhookBody(provider: ProviderName, body: string | Buffer, secret: string, options: SigningOptions = {}): Record<string, string> {
  return providers[provider].webhook.sign(body, secret, options);
}
