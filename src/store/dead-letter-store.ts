import { createHash } from 'node:crypto';
import type { DeadLetterInput, DeadLetterKind, RecordedDelivery } from '../core/dead-letters';
import type { BillingEvent, ProviderName } from '../core/events';
import type { Database } from './queryable';

export { deadLetterKinds, type DeadLetterInput, type DeadLetterKind, type RecordedDelivery } from '../core/dead-letters';

export interface DeadLetterSummary {
  id: string;
  provider: ProviderName;
  kind: DeadLetterKind;
  reason: string;
  eventIds: string[];
  workflowId: string | null;
  /** `delivery`: replay parses the body again; `event`: replay routes the stored event again. */
  holds: 'delivery' | 'event';
  firstSeenAt: string;
  lastSeenAt: string;
  /** How often it came: a provider retrying a delivery, a workflow refusing the same event again. */
  timesSeen: number;
  replays: number;
  lastReplayedAt: string | null;
  lastReplayOutcome: string | null;
}

export interface DeadLetter extends DeadLetterSummary {
  delivery?: RecordedDelivery;
  event?: BillingEvent;
}

export interface DeadLetterQuery {
  provider?: ProviderName;
  kind?: DeadLetterKind;
  /** Newest first, at most this many (default 50, at most 500). */
  limit?: number;
  /** Only those with a smaller id: the next page after the last one listed. */
  before?: string;
}

export interface DeadLetterStoreOptions {
  /** Dead letters not seen again for this long are deleted (on the next one recorded). */
  retentionDays: number;
}

interface DeadLetterRow {
  id: string;
  provider: ProviderName;
  kind: DeadLetterKind;
  reason: string;
  event_ids: string[];
  workflow_id: string | null;
  request: Omit<RecordedDelivery, 'bodyBase64'> | null;
  body: Uint8Array | null;
  event: BillingEvent | null;
  first_seen_at: Date;
  last_seen_at: Date;
  times_seen: number;
  replays: number;
  last_replayed_at: Date | null;
  last_replay_outcome: string | null;
}

const summaryColumns = `id::text AS id, provider, kind, reason, event_ids, workflow_id, body IS NOT NULL AS has_body,
  first_seen_at, last_seen_at, times_seen, replays, last_replayed_at, last_replay_outcome`;

/**
 * Deliveries billflow verified but could not act on, with their reason, in the account store's
 * database. Recording is idempotent: the same delivery (by body hash) or the same event (by id)
 * of one kind is one dead letter, seen once more. Dead letters are kept `retentionDays` after they
 * were last seen; replaying one does not delete it, it records the outcome.
 */
export class DeadLetterStore {
  constructor(
    private readonly database: Database,
    private readonly options: DeadLetterStoreOptions = { retentionDays: 30 },
  ) {}

  /** Keeps `input` durably; resolves once committed. `created` is false for a repeat. */
  async record(input: DeadLetterInput): Promise<{ id: string; created: boolean }> {
    if (!input.delivery === !input.event) throw new Error('a dead letter holds either a delivery or an event');
    const body = input.delivery ? Buffer.from(input.delivery.bodyBase64, 'base64') : null;
    const dedupeKey = body ? `sha256:${createHash('sha256').update(body).digest('hex')}` : `event:${input.event?.id ?? ''}`;
    const request = input.delivery ? { headers: input.delivery.headers, query: input.delivery.query, ip: input.delivery.ip } : null;
    const eventIds = input.eventIds ?? (input.event ? [input.event.id] : []);
    const [row] = await this.database.query<{ id: string; times_seen: number }>(
      `INSERT INTO dead_letters (provider, kind, reason, dedupe_key, event_ids, workflow_id, request, body, event)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (provider, kind, dedupe_key)
         DO UPDATE SET last_seen_at = now(), times_seen = dead_letters.times_seen + 1, reason = EXCLUDED.reason
       RETURNING id::text AS id, times_seen`,
      [input.provider, input.kind, input.reason, dedupeKey, JSON.stringify(eventIds), input.workflowId ?? null, request && JSON.stringify(request), body, input.event ? JSON.stringify(input.event) : null],
    );
    if (!row) throw new Error('dead letter not recorded');
    await this.prune();
    return { id: row.id, created: row.times_seen === 1 };
  }

  async list(query: DeadLetterQuery = {}): Promise<DeadLetterSummary[]> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
    const rows = await this.database.query<Omit<DeadLetterRow, 'request' | 'body' | 'event'> & { has_body: boolean }>(
      `SELECT ${summaryColumns} FROM dead_letters
        WHERE ($1::text IS NULL OR provider = $1) AND ($2::text IS NULL OR kind = $2) AND ($3::bigint IS NULL OR id < $3)
        ORDER BY id DESC LIMIT $4`,
      [query.provider ?? null, query.kind ?? null, query.before ?? null, limit],
    );
    return rows.map((row) => summaryOf(row, row.has_body));
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const [row] = await this.database.query<DeadLetterRow>(
      `SELECT ${summaryColumns}, request, body, event FROM dead_letters WHERE id = $1`,
      [id],
    );
    if (!row) return undefined;
    const summary = summaryOf(row, row.body !== null);
    if (row.body && row.request) return { ...summary, delivery: { bodyBase64: Buffer.from(row.body).toString('base64'), ...row.request } };
    return row.event ? { ...summary, event: row.event } : summary;
  }

  /** Notes a replay of dead letter `id` and what came of it. */
  async markReplayed(id: string, outcome: string): Promise<void> {
    await this.database.query(
      'UPDATE dead_letters SET replays = replays + 1, last_replayed_at = now(), last_replay_outcome = $2 WHERE id = $1',
      [id, outcome],
    );
  }

  private async prune(): Promise<void> {
    await this.database.query('DELETE FROM dead_letters WHERE last_seen_at < now() - make_interval(days => $1)', [this.options.retentionDays]);
  }
}

function summaryOf(row: Omit<DeadLetterRow, 'request' | 'body' | 'event'>, hasBody: boolean): DeadLetterSummary {
  return {
    id: row.id,
    provider: row.provider,
    kind: row.kind,
    reason: row.reason,
    eventIds: row.event_ids,
    workflowId: row.workflow_id,
    holds: hasBody ? 'delivery' : 'event',
    firstSeenAt: row.first_seen_at.toISOString(),
    lastSeenAt: row.last_seen_at.toISOString(),
    timesSeen: row.times_seen,
    replays: row.replays,
    lastReplayedAt: row.last_replayed_at?.toISOString() ?? null,
    lastReplayOutcome: row.last_replay_outcome,
  };
}
