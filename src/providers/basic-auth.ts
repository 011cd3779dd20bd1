import { hash, timingSafeEqual } from 'node:crypto';
import { VerificationError } from './types';

export interface BasicCredentials {
  user: string;
  password: string;
}

/** Asks the sender for credentials, as RFC 7235 wants with every 401 of the Basic scheme. */
export const basicChallenge = { 'WWW-Authenticate': 'Basic realm="billflow"' } as const;

const basicHeader = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;

/**
 * `user:password[,user:password…]`, as the `*_WEBHOOK_BASIC_AUTH` variables hold them (several for
 * rotation). The password may contain `:`, neither part may contain `,`. Throws a message that
 * never repeats the value.
 */
export function parseBasicCredentialList(value: string | undefined): BasicCredentials[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const colon = entry.indexOf(':');
      if (colon <= 0 || colon === entry.length - 1) {
        throw new Error(`entry ${index + 1} is not user:password with both parts non-empty`);
      }
      return { user: entry.slice(0, colon), password: entry.slice(colon + 1) };
    });
}

/** The Authorization header a sender holding `credentials` (`user:password`, as the variables write one pair) sends. */
export function basicAuthorization(credentials: string): string {
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

/** Fixed-length digests, so `timingSafeEqual` can compare values of any length. */
const digest = (value: string): Buffer => hash('sha256', value, 'buffer');

/** The configured credentials' digests, made once: hashing them on every request was a quarter of a BillForward delivery. */
const acceptedDigests = new WeakMap<BasicCredentials, { user: Buffer; password: Buffer }>();

function digestsOf(credentials: BasicCredentials): { user: Buffer; password: Buffer } {
  let digests = acceptedDigests.get(credentials);
  if (digests === undefined) {
    digests = { user: digest(credentials.user), password: digest(credentials.password) };
    acceptedDigests.set(credentials, digests);
  }
  return digests;
}

/**
 * Throws a 401 (with the Basic challenge) unless the Authorization header carries one of the
 * accepted credentials. Every accepted pair is compared, each in constant time.
 */
export function verifyBasicAuth(authorization: string | string[] | undefined, accepted: readonly BasicCredentials[], what: string): void {
  if (accepted.length === 0) throw new VerificationError(401, `${what} Basic credentials are not configured`, basicChallenge);
  if (authorization === undefined || authorization === '') {
    throw new VerificationError(401, 'missing Authorization header', basicChallenge);
  }
  const match = typeof authorization === 'string' ? basicHeader.exec(authorization.trim()) : null;
  const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new VerificationError(401, 'malformed Basic credentials', basicChallenge);

  const user = digest(decoded.slice(0, colon));
  const password = digest(decoded.slice(colon + 1));
  let matched = false;
  for (const credentials of accepted) {
    const expected = digestsOf(credentials);
    // Both compared always: `&&` would end early and tell a right user from a wrong one.
    const sameUser = timingSafeEqual(user, expected.user);
    const samePassword = timingSafeEqual(password, expected.password);
    if (sameUser && samePassword) matched = true;
  }
  if (!matched) throw new VerificationError(401, 'Basic credentials do not match', basicChallenge);
}
