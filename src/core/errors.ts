/**
 * A request billflow refuses on purpose, answered with `status`, a `reason` short and safe to log
 * and to return (never a secret, a signature or a body), and `headers` the status asks for (a
 * `WWW-Authenticate` challenge, a `Retry-After`). The receiver answers every one of them the same
 * way; each part of billflow that refuses names its own subclass.
 */
export class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(reason);
    this.name = 'HttpRefusal';
  }
}
