import type { Router } from '@koa/router';
import type { SandboxPlumbing } from './sandbox/provider-api';
import type { WebhookSecretSettings, WebhookTemplate } from './webhooks/types';

/** One provider's part of the provider sandbox: in-memory state behind a stand-in of its API. */
export interface SandboxPart {
  /** The provider's API routes, under `/<provider>`. */
  api(plumbing: SandboxPlumbing): Router;
  /** Seeding and inspection routes, under `/_sandbox/<provider>`. */
  control(): Router;
  reset(): void;
}

/** What the sandbox server tells each part. */
export interface SandboxContext {
  /** The credential every provider API of this sandbox accepts (token, API key, DataLink password). */
  accessToken: string;
}

/**
 * The testing half of a provider, in `src/providers/<name>/testing/index.ts`: its stand-ins for
 * development and tests, never part of the production image.
 */
export interface ProviderTesting<Sandbox extends SandboxPart = SandboxPart> {
  /** The deliveries `billflow trigger` and the tests send as this provider. */
  webhooks: WebhookTemplate;
  sandbox: {
    create(context: SandboxContext): Sandbox;
    /** Where the provider's API client is pointed, from the sandbox's root: its base URL there. */
    apiPath: string;
    /** Variables pointing the provider's API client at `apiUrl` (as `loadConfig` reads them). */
    settings(sandbox: Sandbox, context: SandboxContext & { apiUrl: string }): Record<string, string>;
  };
  /** Whether `environment` holds API credentials of the provider's own; without, `dev` uses the sandbox. */
  hasApiCredentials(environment: Readonly<Record<string, string | undefined>>): boolean;
  /**
   * `dev` only: the variables that make a receiver with these webhook settings also accept local
   * deliveries (`billflow trigger`): the dev secret where none is configured, this machine's address
   * where only addresses are checked and the operator set none. Empty when nothing needs to change.
   */
  devWebhookSettings(settings: WebhookSecretSettings, environment: Readonly<Record<string, string | undefined>>): Record<string, string>;
}

export function defineProviderTesting<Sandbox extends SandboxPart>(testing: ProviderTesting<Sandbox>): ProviderTesting<Sandbox> {
  return testing;
}
