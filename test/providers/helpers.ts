import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { BillingEvent } from '../../src/core/events';
import { basicAuthorization } from '../../src/providers/basic-auth';
import { MalformedPayloadError, VerificationError, type WebhookProvider, type WebhookRequest } from '../../src/providers/types';

export const fixture = (provider: string, name: string): Buffer => readFileSync(path.join(__dirname, '../fixtures', provider, name));

export function request(
  rawBody: Buffer | string,
  headers: Record<string, string | string[] | undefined> = {},
  { query = {}, ip = '127.0.0.1' }: { query?: WebhookRequest['query']; ip?: string } = {},
): WebhookRequest {
  return { rawBody: Buffer.from(rawBody), headers: { 'content-type': 'application/json', ...headers }, query, ip };
}

/** The VerificationError `verify` throws, or undefined when it accepts. */
export function rejection<S>(provider: WebhookProvider<S>, req: WebhookRequest, settings: S, now?: Date): VerificationError | undefined {
  try {
    provider.verify(req, settings, now);
    return undefined;
  } catch (error) {
    if (error instanceof VerificationError) return error;
    throw error;
  }
}

/** The one event a single-event provider makes of `req`. */
export function parseOne<S>(provider: WebhookProvider<S>, req: WebhookRequest): BillingEvent {
  const events = provider.parse(req);
  expect(events).toHaveLength(1);
  return events[0] as BillingEvent;
}

export function parseError<S>(provider: WebhookProvider<S>, req: WebhookRequest): MalformedPayloadError {
  try {
    provider.parse(req);
  } catch (error) {
    if (error instanceof MalformedPayloadError) {
      expect(error.status).toBe(400);
      return error;
    }
    throw error;
  }
  throw new Error('parse accepted a malformed payload');
}

/** The header `name` among those `sign` wrote; the test fails when it wrote none. */
export function signedHeader(headers: Record<string, string>, name: string): string {
  const value = headers[name];
  if (value === undefined) throw new Error(`sign wrote no ${name} header`);
  return value;
}

/** `body` with one bit of the byte at `index` flipped. */
export function flipByte(body: Buffer, index: number): Buffer {
  const altered = Buffer.from(body);
  altered[index] = (altered[index] ?? 0) ^ 0x01;
  return altered;
}

export const basic = (user: string, password: string): string => basicAuthorization(`${user}:${password}`);
