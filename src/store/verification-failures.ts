import type { Database } from './queryable';

/** What is kept of a delivery that did not verify: never its body, never a secret. */
export interface VerificationFailureInput {
  provider: string;
  reason: string;
  /** The status it was answered with. */
  status: number;
  /** Body size in bytes. */
  size: number;
  bodySha256: string;
  /** Headers without secrets (the receiver redacts credentials and signatures). */
  headers: Record<string, string>;
  ip: string;
}

export interface VerificationFailure extends VerificationFailureInput {
  id: string;
  at: string;
}

export interface VerificationFailureCount {
  provider: string;
  reason: string;
  count: number;
  lastAt: string;
}

export interface VerificationFailureLogOptions {
  /** How many of the latest failures are kept; older ones are deleted as new ones come. */
  kept: number;
}

/**
 * Deliveries refused because they did not verify: counted per provider and reason for good, and the
 * latest `kept` of them kept. Anyone can send these, so what a row holds is bounded (no body, header
 * values cut) and so is the number of rows.
 */
export class VerificationFailureLog {
  constructor(
    private readonly database: Database,
    private readonly options: VerificationFailureLogOptions = { kept: 1000 },
  ) {}

  async record(input: VerificationFailureInput): Promise<void> {
    await this.database.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO verification_failure_counts (provider, reason, count) VALUES ($1, $2, 1)
         ON CONFLICT (provider, reason) DO UPDATE SET count = verification_failure_counts.count + 1, last_at = now()`,
        // Digits folded, as in the metric: a reason quoting a time or a size stays one count.
        [input.provider, input.reason.replace(/\d+/g, 'N')],
      );
      const [row] = await tx.query<{ id: string }>(
        `INSERT INTO verification_failures (provider, reason, status, size, body_sha256, headers, ip)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id::text AS id`,
        [input.provider, input.reason, input.status, input.size, input.bodySha256, JSON.stringify(input.headers), input.ip],
      );
      if (row) await tx.query('DELETE FROM verification_failures WHERE id <= $1::bigint - $2::bigint', [row.id, this.options.kept]);
    });
  }

  /** Counts since the store began, and the latest failures, newest first. */
  async summary(limit = 50): Promise<{ counts: VerificationFailureCount[]; latest: VerificationFailure[] }> {
    const counts = await this.database.query<{ provider: string; reason: string; count: string; last_at: Date }>(
      'SELECT provider, reason, count::text AS count, last_at FROM verification_failure_counts ORDER BY provider, reason',
    );
    const latest = await this.database.query<Omit<VerificationFailure, 'bodySha256' | 'at'> & { body_sha256: string; at: Date }>(
      'SELECT id::text AS id, provider, reason, status, size, body_sha256, headers, ip, at FROM verification_failures ORDER BY id DESC LIMIT $1',
      [Math.min(Math.max(limit, 1), 500)],
    );
    return {
      counts: counts.map((row) => ({ provider: row.provider, reason: row.reason, count: Number(row.count), lastAt: row.last_at.toISOString() })),
      latest: latest.map(({ body_sha256, at, ...row }) => ({ ...row, bodySha256: body_sha256, at: at.toISOString() })),
    };
  }
}
