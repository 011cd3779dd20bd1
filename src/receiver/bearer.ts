import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Digests are compared, equal in
 * length whatever was sent, in constant time: the answer's timing tells nothing of the token.
 */
export function bearerMatcher(token: string): (header: string) => boolean {
  const expected = digest(token);
  return (header) => {
    const match = /^Bearer (.+)$/i.exec(header.trim());
    return match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
