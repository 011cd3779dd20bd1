import { testingHalves } from '../providers';
import type { WebhookTemplate } from './types';

/** One per provider `trigger` can send as; keyed by the name in `/webhooks/<name>`. */
export const webhookTemplates: ReadonlyMap<string, WebhookTemplate> = new Map<string, WebhookTemplate>(testingHalves.map(([name, testing]) => [name, testing.webhooks]));
