/**
 * Webhook secret `dev` accepts for a provider whose secret is not configured, so that local
 * deliveries (`billflow trigger`) can be signed. Never used outside `dev` and `trigger`.
 */
export const devWebhookSecret = 'billflow-dev-secret';
