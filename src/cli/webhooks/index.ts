import { gocardlessWebhooks } from './gocardless';
import type { WebhookTemplate } from './types';

/** One per provider `trigger` can send as; keyed by the name in `/webhooks/<name>`. */
export const webhookTemplates: ReadonlyMap<string, WebhookTemplate> = new Map(
  [gocardlessWebhooks].map((template) => [template.provider, template]),
);
