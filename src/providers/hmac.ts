import { createHmac, timingSafeEqual } from 'node:crypto';

const sha256Hex = /^[0-9a-f]{64}$/i;

/**
 * The HMAC-SHA256 signatures given in a header, decoded. Values that are not 64 hex digits can
 * never match and are dropped, so a header may carry a decoy or a future scheme beside a good one.
 */
export function decodeSha256Signatures(values: readonly string[]): Buffer[] {
  return values.filter((value) => sha256Hex.test(value)).map((value) => Buffer.from(value, 'hex'));
}

/** Secrets as bytes, converted once: `createHmac` converts a string key on every call, ~7% of an HMAC of a webhook body. */
const secretBytes = new Map<string, Buffer>();

function keyOf(secret: string): Buffer {
  let key = secretBytes.get(secret);
  if (key === undefined) {
    key = Buffer.from(secret, 'utf8');
    secretBytes.set(secret, key);
  }
  return key;
}

/**
 * Whether HMAC-SHA256 of `message` (its parts concatenated) under any of `secrets` equals any of
 * `signatures`. Every secret is tried against every signature, each in constant time, so the time
 * taken tells neither which secret matched nor how close a forgery came.
 */
export function anySignatureMatches(secrets: readonly string[], message: readonly (string | Buffer)[], signatures: readonly Buffer[]): boolean {
  let matched = false;
  for (const secret of secrets) {
    const hmac = createHmac('sha256', keyOf(secret));
    for (const part of message) hmac.update(part);
    const expected = hmac.digest();
    for (const signature of signatures) {
      if (signature.length === expected.length && timingSafeEqual(expected, signature)) matched = true;
    }
  }
  return matched;
}
