import { describe, expect, it } from 'vitest';
import { formatDetails } from '../../workflows/web-ui';

describe('Web UI current details', () => {
  it('lays out subject, standing and items, then a paragraph each for next step, last event and last step', () => {
    expect(
      formatDetails({
        subject: 'stripe subscription sub_1',
        standing: 'customer cus_1, **past_due**',
        items: ['dunning in_1: retry scheduled, 1 of 3 retries made'],
        next: 'retry payment in_1 (retry 2 of 3) at 2026-03-04T00:00:00.000Z',
        lastEvent: { type: 'invoice.payment_failed', id: 'evt_1', outcome: 'retry 1 of 3 for in_1 scheduled' },
        lastStep: { action: 'retry 1 of 3 for in_1 declined', at: '2026-03-03T00:00:00.000Z' },
      }),
    ).toBe(
      [
        '**stripe subscription sub_1** — customer cus_1, **past_due**\n- dunning in_1: retry scheduled, 1 of 3 retries made',
        'Next: retry payment in_1 (retry 2 of 3) at 2026-03-04T00:00:00.000Z',
        'Last event: invoice.payment_failed (evt_1) → retry 1 of 3 for in_1 scheduled',
        'Last step: retry 1 of 3 for in_1 declined (2026-03-03T00:00:00.000Z)',
      ].join('\n\n'),
    );
  });

  it('leaves out what is not there', () => {
    expect(formatDetails({ subject: 'recurly account code-1', standing: 'open' })).toBe('**recurly account code-1** — open');
  });
});
