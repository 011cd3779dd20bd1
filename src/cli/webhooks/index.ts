import { billforwardWebhooks } from './billforward';
import { ccbillWebhooks } from './ccbill';
import { gocardlessWebhooks } from './gocardless';
import { recurlyWebhooks } from './recurly';
import { stripeWebhooks } from './stripe';
import type { WebhookTemplate } from './types';

/** One per provider `trigger` can send as; keyed by the name in `/webhooks/<name>`. */
export const webhookTemplates: ReadonlyMap<string, WebhookTemplate> = new Map(
  [gocardlessWebhooks, stripeWebhooks, recurlyWebhooks, ccbillWebhooks, billforwardWebhooks].map((template) => [template.provider, template]),
);
