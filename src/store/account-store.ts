import type { ProviderName } from '../core/events';
import type { Database, Queryable } from './database';

export type AccountStatus = 'active' | 'suspended' | 'closed' | 'paused';
/** `record` notes an event on the account (a refund, a chargeback in record-only mode) and never changes it. */
export type AccountAction = 'suspend' | 'reinstate' | 'reset_usage' | 'end_access' | 'pause' | 'resume' | 'record';

export interface AccountChangeInput {
  provider: ProviderName;
  customerId: string;
  reason: string;
  /** The billing event behind the change: the same event never applies the same action twice. */
  eventId: string;
}

export interface SuspendInput extends AccountChangeInput {
  /**
   * An account already suspended is suspended for this reason from now on (a chargeback over a
   * dunning suspension): the reinstatement that would have lifted the earlier suspension (the
   * invoice paid) then leaves it suspended. Changed (and recorded so) when the reason differs.
   */
  takeOver?: boolean;
}

export interface ReinstateInput extends AccountChangeInput {
  /**
   * Reinstate only an account suspended for this reason (e.g. `chargeback`), or for a reason that
   * begins with it and a space (`dunning exhausted` covers `dunning exhausted for in_1`): a won
   * dispute brings back what its chargeback suspended, a paid invoice what its dunning did, never
   * an account suspended since for something else.
   */
  onlyIfSuspendedFor?: string;
}

export interface PauseInput extends AccountChangeInput {
  /** Whether the customer keeps access while paused (`BILLFLOW_PAUSED_MEANS_NO_ACCESS`). */
  access: boolean;
}

export interface UsageResetInput extends AccountChangeInput {
  /** The billing period being started, e.g. the renewal's period start; usage resets once per period. */
  periodKey: string;
}

export interface AccountChange {
  action: AccountAction;
  reason: string;
  eventId: string;
  periodKey: string | null;
  statusBefore: AccountStatus;
  statusAfter: AccountStatus;
  /** False when the action was recorded but found nothing to do (e.g. suspending a suspended account). */
  changed: boolean;
  at: string;
}

export interface Account {
  provider: ProviderName;
  customerId: string;
  status: AccountStatus;
  /** Whether the customer may use the service: active, or paused with access kept. */
  access: boolean;
  reason: string | null;
  changedAt: string;
  usagePeriod: string | null;
  history: AccountChange[];
}

export interface ChangeResult {
  changed: boolean;
}

interface AccountRow {
  status: AccountStatus;
  reason: string | null;
  usage_period: string | null;
}

interface Operation {
  action: AccountAction;
  input: AccountChangeInput;
  operationKey: string;
  periodKey?: string;
  /** The status after the action, and whether the action does anything from `current`. */
  apply(current: AccountRow): { status: AccountStatus; changed: boolean; access?: boolean };
}

/**
 * The merchant's view of its customers' accounts, keyed by (provider, customer id). An account
 * the store has never seen counts as active. Every action is recorded once per operation key in
 * `account_changes` — even when it finds nothing to do — so a retried or redelivered action can
 * never apply later, after the account has moved on.
 */
export class AccountStore {
  /** `database` is public so that the dead-letter store can live beside the accounts. */
  constructor(readonly database: Database) {}

  suspend(input: SuspendInput): Promise<ChangeResult> {
    const { takeOver, ...change } = input;
    return this.perform({
      action: 'suspend',
      input: change,
      operationKey: input.eventId,
      apply: ({ status, reason }) =>
        status === 'active' || (takeOver === true && status === 'suspended' && reason !== change.reason) ? { status: 'suspended', changed: true } : { status, changed: false },
    });
  }

  reinstate(input: ReinstateInput): Promise<ChangeResult> {
    const { onlyIfSuspendedFor, ...change } = input;
    const suspendedFor = (reason: string | null) =>
      onlyIfSuspendedFor === undefined || reason === onlyIfSuspendedFor || (reason?.startsWith(`${onlyIfSuspendedFor} `) ?? false);
    return this.perform({
      action: 'reinstate',
      input: change,
      operationKey: input.eventId,
      apply: ({ status, reason }) => (status === 'suspended' && suspendedFor(reason) ? { status: 'active', changed: true } : { status, changed: false }),
    });
  }

  /** An active account's subscription is paused; a suspended or closed one stays as it is. */
  pause(input: PauseInput): Promise<ChangeResult> {
    const { access, ...change } = input;
    return this.perform({
      action: 'pause',
      input: change,
      operationKey: input.eventId,
      apply: ({ status }) => (status === 'active' ? { status: 'paused', changed: true, access } : { status, changed: false }),
    });
  }

  /** A paused account is active again. */
  resume(input: AccountChangeInput): Promise<ChangeResult> {
    return this.perform({
      action: 'resume',
      input,
      operationKey: input.eventId,
      apply: ({ status }) => (status === 'paused' ? { status: 'active', changed: true } : { status, changed: false }),
    });
  }

  /** Notes an event in the account's history (a refund, a chargeback only recorded): the account does not change. */
  record(input: AccountChangeInput): Promise<ChangeResult> {
    return this.perform({ action: 'record', input, operationKey: input.eventId, apply: ({ status }) => ({ status, changed: false }) });
  }

  /** Starts a new usage period; keyed by the period, so two events about one renewal reset once. */
  resetUsage(input: UsageResetInput): Promise<ChangeResult> {
    return this.perform({
      action: 'reset_usage',
      input,
      operationKey: input.periodKey,
      periodKey: input.periodKey,
      apply: ({ status }) => ({ status, changed: status !== 'closed' }),
    });
  }

  /** Closes the account for good: nothing reinstates a closed account. */
  endAccess(input: AccountChangeInput): Promise<ChangeResult> {
    return this.perform({
      action: 'end_access',
      input,
      operationKey: input.eventId,
      apply: ({ status }) => ({ status: 'closed', changed: status !== 'closed' }),
    });
  }

  async get(provider: ProviderName, customerId: string): Promise<Account | undefined> {
    const [account] = await this.database.query<{
      status: AccountStatus;
      access: boolean;
      reason: string | null;
      changed_at: Date;
      usage_period: string | null;
    }>(
      'SELECT status, access, reason, changed_at, usage_period FROM accounts WHERE provider = $1 AND customer_id = $2',
      [provider, customerId],
    );
    if (!account) return undefined;
    const history = await this.database.query<{
      action: AccountAction;
      reason: string;
      event_id: string;
      period_key: string | null;
      status_before: AccountStatus;
      status_after: AccountStatus;
      changed: boolean;
      at: Date;
    }>(
      `SELECT action, reason, event_id, period_key, status_before, status_after, changed, at
         FROM account_changes WHERE provider = $1 AND customer_id = $2 ORDER BY sequence`,
      [provider, customerId],
    );
    return {
      provider,
      customerId,
      status: account.status,
      access: account.access,
      reason: account.reason,
      changedAt: account.changed_at.toISOString(),
      usagePeriod: account.usage_period,
      history: history.map((row) => ({
        action: row.action,
        reason: row.reason,
        eventId: row.event_id,
        periodKey: row.period_key,
        statusBefore: row.status_before,
        statusAfter: row.status_after,
        changed: row.changed,
        at: row.at.toISOString(),
      })),
    };
  }

  private perform(operation: Operation): Promise<ChangeResult> {
    const { provider, customerId, reason, eventId } = operation.input;
    return this.database.transaction(async (tx) => {
      const current = await lockAccount(tx, provider, customerId);
      const next = operation.apply(current);
      // The unique (provider, customer_id, action, operation_key) turns a repeat into a no-op;
      // the account lock above makes a concurrent repeat wait for this one to commit first.
      const recorded = await tx.query(
        `INSERT INTO account_changes
           (provider, customer_id, action, operation_key, event_id, reason, period_key, status_before, status_after, changed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (provider, customer_id, action, operation_key) DO NOTHING
         RETURNING at`,
        [provider, customerId, operation.action, operation.operationKey, eventId, reason, operation.periodKey ?? null, current.status, next.status, next.changed],
      );
      if (recorded.length === 0 || !next.changed) return { changed: false };
      if (operation.action === 'reset_usage') {
        await tx.query(
          'UPDATE accounts SET usage_period = $3, usage_reset_at = now() WHERE provider = $1 AND customer_id = $2',
          [provider, customerId, operation.periodKey],
        );
      } else {
        await tx.query(
          'UPDATE accounts SET status = $3, reason = $4, access = $5, changed_at = now() WHERE provider = $1 AND customer_id = $2',
          [provider, customerId, next.status, reason, next.access ?? next.status === 'active'],
        );
      }
      return { changed: true };
    });
  }
}

/** Creates the account as active if it is new, and holds its row lock until the transaction ends. */
async function lockAccount(tx: Queryable, provider: string, customerId: string): Promise<AccountRow> {
  await tx.query('INSERT INTO accounts (provider, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [provider, customerId]);
  const [row] = await tx.query<AccountRow>(
    'SELECT status, reason, usage_period FROM accounts WHERE provider = $1 AND customer_id = $2 FOR UPDATE',
    [provider, customerId],
  );
  if (!row) throw new Error(`account ${provider}/${customerId} vanished while being changed`);
  return row;
}
