import type { IncomingHttpHeaders } from 'node:http';

/** Names of headers and query parameters that carry a credential or a signature. */
const secretName = /authorization|cookie|signature|secret|token|api[-_]?key|password|auth/i;

/** Longer values are cut here: what is kept of a request stays bounded whatever was sent. */
const keptValueLength = 1000;

function kept(name: string, value: string): string {
  if (secretName.test(name)) return '[redacted]';
  return value.length > keptValueLength ? `${value.slice(0, keptValueLength)}…` : value;
}

/**
 * What billflow keeps of a request's headers or query: every name, and the value of each except
 * credentials and signatures (`[redacted]`), cut to a bounded length.
 */
export function withoutSecrets(values: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    result[name] = Array.isArray(value) ? value.map((one) => kept(name, one)) : kept(name, String(value));
  }
  return result;
}
