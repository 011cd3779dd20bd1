import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

/**
 * Signs bearer tokens (RS256 JWTs) the way an identity provider would, and serves its public key
 * set on loopback for the Temporal server's JWT claim mapper to fetch.
 */
export interface JwtIssuer {
  /** `http://127.0.0.1:<port>/.well-known/jwks.json` */
  jwksUrl: string;
  /** A token for `subject` with Temporal permissions such as `default:admin` or `temporal-system:admin`. */
  token(subject: string, permissions: string[], options?: { expiresInSeconds?: number }): string;
  close(): Promise<void>;
}

export async function startJwtIssuer(): Promise<JwtIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
  const server: Server = createServer((request, response) => {
    if (request.url === '/.well-known/jwks.json') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    } else {
      response.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    token: (subject, permissions, options = {}) => signJwt(privateKey, kid, subject, permissions, options.expiresInSeconds ?? 3600),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A token with the issuer's key id, signed by a key that is not in its key set (a forged or stale token). */
export function foreignToken(kidOf: JwtIssuer, subject: string, permissions: string[]): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const payload = JSON.parse(Buffer.from(kidOf.token(subject, permissions).split('.')[0] as string, 'base64url').toString()) as { kid: string };
  return signJwt(privateKey, payload.kid, subject, permissions, 3600);
}

function signJwt(key: KeyObject, kid: string, subject: string, permissions: string[], expiresInSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT', kid })}.${encode({ sub: subject, permissions, iat: now, exp: now + expiresInSeconds })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(key).toString('base64url');
  return `${unsigned}.${signature}`;
}
