import { createHmac, timingSafeEqual } from 'node:crypto';

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

/** Hex HMAC-SHA256 of `message` (its parts concatenated) under `secret`: the signature a sender of these schemes writes. */
export function hmacSha256Hex(secret: string, message: readonly (string | Buffer)[]): string {
  const hmac = createHmac('sha256', keyOf(secret));
  for (const part of message) hmac.update(part);
  return hmac.digest('hex');
}

/**
 * Each signature is decoded into this one buffer just before it is compared: a Buffer allocated per
 * signature cost as much as parsing the whole Stripe-Signature header. Safe to share: nothing
 * between the decoding and the comparison yields.
 */
const decoded = Buffer.alloc(32);

/** `value` as the 32 bytes of an HMAC-SHA256 in `decoded`, or false unless it is exactly 64 hex digits. */
function decodeSha256Hex(value: string): boolean {
  // Hex decoding stops at the first pair that is not hex, so 32 bytes written means 64 hex digits.
  return value.length === 64 && decoded.write(value, 'hex') === 32;
}

/**
 * Whether HMAC-SHA256 of `message` (its parts concatenated) under any of `secrets` equals any of
 * `hexSignatures`. Values that are not 64 hex digits never match, so a header may carry a decoy or
 * a future scheme beside a good one. Every secret is tried against every signature, each in
 * constant time, so the time taken tells neither which secret matched nor how close a forgery came.
 */
export function anySignatureMatches(secrets: readonly string[], message: readonly (string | Buffer)[], hexSignatures: readonly string[]): boolean {
  let matched = false;
  for (const secret of secrets) {
    const hmac = createHmac('sha256', keyOf(secret));
    for (const part of message) hmac.update(part);
    const expected = hmac.digest();
    for (const signature of hexSignatures) {
      if (decodeSha256Hex(signature) && timingSafeEqual(expected, decoded)) matched = true;
    }
  }
  return matched;
}
