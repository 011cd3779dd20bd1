import { billforwardWebhooks } from '../../providers/billforward/testing/webhooks';
import { ccbillWebhooks } from '../../providers/ccbill/testing/webhooks';
import { gocardlessWebhooks } from '../../providers/gocardless/testing/webhooks';
import { recurlyWebhooks } from '../../providers/recurly/testing/webhooks';
import { stripeWebhooks } from '../../providers/stripe/testing/webhooks';
import type { WebhookTemplate } from './types';

/** One per provider `trigger` can send as; keyed by the name in `/webhooks/<name>`. */
export const webhookTemplates: ReadonlyMap<string, WebhookTemplate> = new Map(
  [gocardlessWebhooks, stripeWebhooks, recurlyWebhooks, ccbillWebhooks, billforwardWebhooks].map((template) => [template.provider, template]),
);
