import type { ProviderName } from '../core/events';
import { signWebhookBody } from './sign';

export interface SenderOptions {
  /** Where the receiver listens, asked before every attempt (it may move across restarts). */
  receiverUrl(): string;
  /** How long the sender keeps retrying one delivery before it gives up for good (the providers' ~3 days, shortened). */
  horizonMs: number;
  /** Wait between two attempts. */
  retryEveryMs: number;
  /** Per attempt; a receiver slower than this counts as a failed attempt, as it does for the providers. */
  attemptTimeoutMs?: number;
}

export type SendOutcome = 'delivered' | 'gave-up';

/**
 * Delivers webhooks the way a billing provider does: signed with the secret the provider holds now,
 * retried on anything but a 2xx (a refused connection, a 401 for a secret billflow does not know, a
 * 503), and dropped for good once its retry horizon has passed. For outage tests and `npm run chaos`.
 */
export class ProviderSender {
  readonly outcomes = { delivered: 0, gaveUp: 0, attempts: 0 };
  private readonly secrets = new Map<ProviderName, string>();

  constructor(private readonly options: SenderOptions) {}

  /** The secret the provider signs with from now on: rotated at the provider, whatever billflow knows. */
  useSecret(provider: ProviderName, secret: string): void {
    this.secrets.set(provider, secret);
  }

  /** `headers`: what the provider sends beside its signature (Recurly's `recurly-notification-id`). */
  async send(provider: ProviderName, body: string, headers: Record<string, string> = {}): Promise<SendOutcome> {
    const giveUpAt = Date.now() + this.options.horizonMs;
    for (;;) {
      this.outcomes.attempts += 1;
      if (await this.attempt(provider, body, headers)) {
        this.outcomes.delivered += 1;
        return 'delivered';
      }
      if (Date.now() + this.options.retryEveryMs > giveUpAt) {
        this.outcomes.gaveUp += 1;
        return 'gave-up';
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.retryEveryMs));
    }
  }

  private async attempt(provider: ProviderName, body: string, headers: Record<string, string>): Promise<boolean> {
    const secret = this.secrets.get(provider);
    if (secret === undefined) throw new Error(`no secret for ${provider}: call useSecret first`);
    try {
      const response = await fetch(`${this.options.receiverUrl()}/webhooks/${provider}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, ...signWebhookBody(provider, body, secret) },
        body,
        signal: AbortSignal.timeout(this.options.attemptTimeoutMs ?? 5000),
      });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  }
}
