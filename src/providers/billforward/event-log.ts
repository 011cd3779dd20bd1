import { z } from 'zod';
import type { LoggedEvent, ProviderEventLog } from '../provider';
import { failureFromMalformedAnswer } from '../http/failures';
import { billForwardSender, type BillForwardOptions } from './api';

/** Notifications per page of the notification API. */
const pageSize = 100;

const notification = z.looseObject({ id: z.string().min(1), created: z.string().min(1) });

/**
 * BillForward's notification API, for catch-up: `GET /notifications/{lower-threshold}/{upper-threshold}`
 * lists the notifications created between two times, here oldest first (`order_by=created&order=ASC`)
 * and paged with `offset`/`records`. Each is the notification its webhook carries, so the webhook
 * parser reads it with the same id (`NOT-…`) and kind.
 */
export function billForwardEventLog(options: BillForwardOptions): ProviderEventLog {
  const send = billForwardSender(options);
  return {
    async since(since: Date): Promise<LoggedEvent[]> {
      const range = `/notifications/${encodeURIComponent(since.toISOString())}/${encodeURIComponent(new Date().toISOString())}`;
      const read: LoggedEvent[] = [];
      for (let offset = 0; ; offset += pageSize) {
        // BillForward's own safety margin is left at its documented default (10 s behind its clock; its
        // client libraries document no other value, 0 included): what is younger is read by the next
        // sweep, since the catch-up cursor stays a wider margin behind (src/catch-up/sweep.ts).
        const query = new URLSearchParams({ order_by: 'created', order: 'ASC', offset: String(offset), records: String(pageSize) });
        const { operation, results } = await send('GET', `${range}?${query.toString()}`);
        const page = z.array(notification).safeParse(results);
        if (!page.success) throw failureFromMalformedAnswer('BillForward', operation, page.error.message, false);
        for (const listed of page.data) read.push({ id: listed.id, createdAtMs: Date.parse(listed.created), body: JSON.stringify(listed) });
        if (results.length < pageSize) return read;
      }
    },
  };
}
