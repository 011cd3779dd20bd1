import type { ProviderName } from '../../core/events';

/** Ids a triggered event refers to; whatever the user did not give is made up in the provider's style. */
export interface TriggerReferences {
  customer?: string;
  subscription?: string;
  mandate?: string;
  invoice?: string;
  payment?: string;
}

/** A delivery exactly as the provider would send it: the bytes and the headers that sign them. */
export interface BuiltWebhook {
  body: string;
  headers: Record<string, string>;
  /** Query parameters some providers put on the URL. */
  query?: Record<string, string>;
}

/** Talks to the `/_sandbox` control routes of the provider sandbox `billflow dev` runs. */
export interface SandboxControl {
  get<T>(path: string): Promise<T>;
  post(path: string, body: unknown): Promise<void>;
}

/** The webhook settings a provider may have (`config.<provider>`). */
export interface WebhookSecretSettings {
  webhookSecrets?: readonly string[];
  basicAuth?: readonly { user: string; password: string }[];
  allowedIps?: readonly string[];
}

export interface WebhookTemplate {
  provider: ProviderName;
  /** The provider's event names `trigger` can build, for `--help` and validation. */
  events: readonly string[];
  /** An event that reaches a workflow: the one the help shows and the tests send. */
  example: string;
  /** What `--secret` is: an HMAC key, `user:password` for HTTP Basic, or nothing (IP allow-list). */
  signing: 'secret' | 'basic' | 'none';
  /** Variables that make a receiver accept deliveries signed with `secret` (tests, docs). */
  receiverEnvironment(secret: string): Record<string, string>;
  /** What a receiver with the provider's `settings` accepts: its first secret, or `dev`'s stand-in. */
  defaultSecret(settings: WebhookSecretSettings): string | undefined;
  /** Fills in missing references, so that seeding and the payload agree on them. */
  complete(event: string, references: TriggerReferences): Required<Pick<TriggerReferences, 'customer'>> & TriggerReferences;
  build(event: string, references: TriggerReferences, secret: string, now: Date): BuiltWebhook;
  /**
   * Puts into the sandbox what the workflow will look up for this event (e.g. the mandate, already
   * cancelled, for `mandates.cancelled`); returns one line per thing seeded.
   */
  seed?(event: string, references: TriggerReferences, sandbox: SandboxControl): Promise<string[]>;
}

/** Whether the sandbox's `GET <listPath>` (under /_sandbox) holds a record with this id. */
export async function sandboxHas(sandbox: SandboxControl, listPath: string, id: string): Promise<boolean> {
  const records = await sandbox.get<{ id: string; uuid?: string }[]>(listPath);
  return records.some((record) => record.id === id || record.uuid === id);
}
