import type { IncomingHttpHeaders } from 'node:http';
import { HttpRefusal } from '../core/errors';
import type { BillingEvent, ProviderName, UnusableEvent } from '../core/events';

/** What a provider module sees of an HTTP delivery: the exact bytes, before any parsing. */
export interface WebhookRequest {
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  query: Record<string, string | string[] | undefined>;
  /** Client IP as the receiver trusts it (socket address, or X-Forwarded-For behind a trusted proxy). */
  ip: string;
}

/**
 * Thrown by `verify` when a delivery cannot be trusted. `status` is the HTTP status this
 * provider expects for that failure; `reason` is short, safe to log and to return (it never
 * contains a secret or a signature).
 */
export class VerificationError extends HttpRefusal {
  override name = 'VerificationError';
}

/** Thrown by `parse` when a verified body is not the shape the provider sends: answered 400. */
export class MalformedPayloadError extends HttpRefusal {
  override name = 'MalformedPayloadError';
  constructor(reason: string) {
    super(400, reason);
  }
}

/**
 * Thrown by `parse` when a well-formed batch holds entries that are not: `usable` are the events of
 * the others. The receiver delivers those and keeps the unusable ones with their reasons, rather
 * than refusing the batch (the provider would retry it, then drop every event in it).
 */
export class PartlyMalformedBatchError extends MalformedPayloadError {
  override name = 'PartlyMalformedBatchError';
  constructor(
    readonly usable: BillingEvent[],
    readonly unusable: Omit<UnusableEvent, 'receivedAt'>[],
  ) {
    super(unusable.map(({ index, reason }) => `events[${index}]: ${reason}`).join('; '));
  }
}

/** What `sign` needs to know besides the body and the secret. */
export interface SigningOptions {
  /** When the delivery is signed, for the schemes that sign a timestamp; now when absent. */
  now?: Date;
  /** The delivery's Content-Type, for a provider that protects its formats differently (Recurly XML). */
  contentType?: string;
}

/** Every provider file exports one of these, with the same shape. */
export interface WebhookProvider<Settings> {
  name: ProviderName;
  /** Throws VerificationError unless the delivery is authentic. */
  verify(request: WebhookRequest, settings: Settings, now?: Date): void;
  /**
   * The sender's half of `verify`: the headers with which the provider would deliver `body`, signed
   * with `secret` (an HMAC key, or `user:password` where the proof is HTTP Basic; unused where
   * nothing is signed). For tests, `billflow trigger` and benchmarks, as stripe-node ships
   * `generateTestHeaderString` beside its verifier.
   */
  sign(body: string | Buffer, secret: string, options?: SigningOptions): Record<string, string>;
  /** Turns a verified delivery into normalised events; throws MalformedPayloadError. */
  parse(request: WebhookRequest): BillingEvent[];
  /**
   * The answer to a verified delivery no workflow takes: 204 unless the provider counts only 200 as
   * delivered (BillForward re-sends anything else).
   */
  unroutedStatus?: 200 | 204;
}
