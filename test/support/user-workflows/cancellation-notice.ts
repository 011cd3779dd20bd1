import { proxyActivities } from '@temporalio/workflow';
import { continueAsNewWith, EventInbox, type InboxCarry, type ProviderName } from '../../../workflows/building-blocks';

/** A user-written workflow for the tests: records one notice per event it receives, once. */
export interface CancellationNoticeInput {
  provider: ProviderName;
  subscriptionId: string;
  carried?: { inbox: InboxCarry };
}

export interface CancellationNotice {
  subscriptionId: string;
  eventId: string;
  kind: string;
}

export interface NoticeActivities {
  recordNotice(notice: CancellationNotice): Promise<void>;
}

const { recordNotice } = proxyActivities<NoticeActivities>({ startToCloseTimeout: '1 minute' });

export async function cancellationNoticeWorkflow(input: CancellationNoticeInput): Promise<void> {
  const inbox = new EventInbox(input.carried?.inbox);
  inbox.listen();
  while (!inbox.shouldContinueAsNew()) {
    const event = await inbox.next();
    if (event) await recordNotice({ subscriptionId: input.subscriptionId, eventId: event.id, kind: event.kind });
  }
  await continueAsNewWith<typeof cancellationNoticeWorkflow>({ ...input, carried: { inbox: inbox.carry() } });
}
