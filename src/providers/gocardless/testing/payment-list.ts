import { z } from 'zod';
import { invalidParameter, readListQuery, type GoCardlessListRefusal } from './list-query';

/** A payment as `GET /payments` filters it: its own fields and what its mandate adds. */
export interface ListablePayment {
  id: string;
  status: string;
  mandateId: string;
  subscriptionId?: string;
  amount: number;
  currency: string;
  /** `YYYY-MM-DD`. */
  chargeDate: string;
  createdAt: string;
  customerId?: string;
  creditorId: string;
  scheme: string;
}

export interface PaymentPage<P> {
  payments: P[];
  meta: { cursors: { before: string | null; after: string | null }; limit: number };
}

const rangeOperators = ['gt', 'gte', 'lt', 'lte'] as const;
const compare = { gt: (a: number, b: number) => a > b, gte: (a: number, b: number) => a >= b, lt: (a: number, b: number) => a < b, lte: (a: number, b: number) => a <= b };
/** Parameters compared for equality, and the field each names. */
const equalityFilters = { subscription: 'subscriptionId', mandate: 'mandateId', customer: 'customerId', creditor: 'creditorId', currency: 'currency', scheme: 'scheme', status: 'status' } as const;
/** The parameters of `GET /payments`, as gocardless-nodejs's `PaymentListRequest` lists them. */
const known = new RegExp(`^(after|before|limit|sort_field|sort_direction|(created_at|charge_date)\\[(gt|gte|lt|lte)\\]|${Object.keys(equalityFilters).join('|')})$`);
const isoDate = z.iso.date();
const isoTime = z.iso.datetime({ offset: true });

/**
 * `GET /payments` as GoCardless answers it: filtered by the linked resources, currency, scheme and
 * status, and by `created_at[…]` (ISO times) and `charge_date[…]` (dates); newest first unless
 * `sort_field` (`charge_date`, `amount`) and `sort_direction` say otherwise; `limit` 1–500 (50 by
 * default) per page, paged with the `after` / `before` cursors `meta.cursors` names. An unknown
 * parameter or cursor is `invalid_api_usage`, a malformed value `validation_failed`.
 */
export function listPayments<P extends ListablePayment>(payments: readonly P[], querystring: string, statuses: readonly string[]): PaymentPage<P> | GoCardlessListRefusal {
  const query = readListQuery(querystring, known);
  if ('reason' in query) return query;
  const { params, limit } = query;
  const field = params.get('sort_field');
  if (field !== null && field !== 'charge_date' && field !== 'amount') return invalidParameter('sort_field', 'must be charge_date or amount');
  const direction = params.get('sort_direction') ?? (field === null ? 'desc' : 'asc');
  if (direction !== 'asc' && direction !== 'desc') return invalidParameter('sort_direction', 'must be asc or desc');
  const status = params.get('status');
  if (status !== null && !statuses.includes(status)) return invalidParameter('status', `must be one of ${statuses.join(', ')}`);

  const tests: ((payment: P) => boolean)[] = [];
  for (const [name, key] of Object.entries(equalityFilters)) {
    const wanted = params.get(name);
    if (wanted !== null) tests.push((payment) => payment[key] === wanted);
  }
  for (const operator of rangeOperators) {
    const created = params.get(`created_at[${operator}]`);
    if (created !== null) {
      if (!isoTime.safeParse(created).success) return invalidParameter(`created_at[${operator}]`, 'is not a valid ISO 8601 time');
      tests.push((payment) => compare[operator](Date.parse(payment.createdAt), Date.parse(created)));
    }
    const charged = params.get(`charge_date[${operator}]`);
    if (charged !== null) {
      if (!isoDate.safeParse(charged).success) return invalidParameter(`charge_date[${operator}]`, 'is not a valid date (YYYY-MM-DD)');
      // Dates as YYYY-MM-DD compare as their text does.
      tests.push((payment) => compare[operator](payment.chargeDate.localeCompare(charged), 0));
    }
  }

  const key = (payment: P): string | number => (field === 'amount' ? payment.amount : field === 'charge_date' ? payment.chargeDate : Date.parse(payment.createdAt));
  const order = (a: P, b: P) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id.localeCompare(b.id));
  const listed = payments.filter((payment) => tests.every((test) => test(payment))).sort(direction === 'desc' ? (a, b) => order(b, a) : order);

  const after = params.get('after');
  const before = params.get('before');
  if (after !== null && before !== null) return { status: 400, type: 'invalid_api_usage', reason: 'invalid_cursors', message: 'You can only specify one of before and after' };
  const cursor = after ?? before;
  const at = cursor === null ? -1 : listed.findIndex((payment) => payment.id === cursor);
  if (cursor !== null && at < 0) return { status: 400, type: 'invalid_api_usage', reason: 'invalid_cursors', message: `The cursor ${cursor} does not name a payment of this list` };
  // `after` pages on from the cursor, `before` back towards the start, each `limit` at a time.
  const start = before !== null ? Math.max(0, at - limit) : at + 1;
  const end = before !== null ? at : Math.min(listed.length, start + limit);
  const page = listed.slice(start, end);
  return {
    payments: page,
    meta: {
      cursors: {
        before: cursor !== null && start > 0 ? (page[0]?.id ?? null) : null,
        after: end < listed.length ? (page.at(-1)?.id ?? null) : null,
      },
      limit,
    },
  };
}
