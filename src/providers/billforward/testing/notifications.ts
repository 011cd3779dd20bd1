/** What the listing reads of a kept notification. */
interface Listed {
  id: string;
  /** ISO time. */
  created: string;
}

export interface NotificationListRefusal {
  message: string;
  parameter: string;
}

const orders = ['ASC', 'DESC'];
const orderFields = ['created', 'id'];

/**
 * `GET /notifications/{lower-threshold}/{upper-threshold}` as BillForward answers it: the
 * notifications created in that period (ISO times), ordered by `order_by` (`created` by default) in
 * `order` (`DESC` by default), `records` of them (10 by default) from `offset`; the period ends at
 * most `safety_margin` seconds (10 by default) before now, so that rows still being written are left
 * for the next request.
 */
export function listNotifications<Notification extends Listed>(
  notifications: Iterable<Notification>,
  thresholds: { lower: string; upper: string },
  querystring: string,
  now = Date.now(),
): { results: Notification[]; recordsRequested: number; recordsReturned: number; currentOffset: number } | NotificationListRefusal {
  const params = new URLSearchParams(querystring);
  const lower = Date.parse(thresholds.lower);
  const upper = Date.parse(thresholds.upper);
  if (Number.isNaN(lower)) return { message: `lower-threshold is not a date-time: ${thresholds.lower}`, parameter: 'lower-threshold' };
  if (Number.isNaN(upper)) return { message: `upper-threshold is not a date-time: ${thresholds.upper}`, parameter: 'upper-threshold' };
  const integer = (name: string, fallback: number, min: number) => {
    const text = params.get(name);
    const value = text === null ? fallback : Number(text);
    return Number.isInteger(value) && value >= min ? value : undefined;
  };
  const offset = integer('offset', 0, 0);
  const records = integer('records', 10, 1);
  const margin = integer('safety_margin', 10, 0);
  for (const [name, value] of [['offset', offset], ['records', records], ['safety_margin', margin]] as const) {
    if (value === undefined) return { message: `${name} must be a whole number`, parameter: name };
  }
  const order = params.get('order') ?? 'DESC';
  const orderBy = params.get('order_by') ?? 'created';
  if (!orders.includes(order)) return { message: 'order must be ASC or DESC', parameter: 'order' };
  if (!orderFields.includes(orderBy)) return { message: `notifications cannot be ordered by ${orderBy}`, parameter: 'order_by' };

  const end = Math.min(upper, now - (margin as number) * 1000);
  const key = (notification: Notification) => (orderBy === 'id' ? notification.id : notification.created);
  const inPeriod = [...notifications]
    .filter((notification) => Date.parse(notification.created) >= lower && Date.parse(notification.created) <= end)
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  if (order === 'DESC') inPeriod.reverse();
  const results = inPeriod.slice(offset, (offset as number) + (records as number));
  return { results, recordsRequested: records as number, recordsReturned: results.length, currentOffset: offset as number };
}
