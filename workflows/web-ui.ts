import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';

/** What a workflow's page in the Temporal Web UI shows under "Current details". */
export interface Details {
  /** What the workflow is about, e.g. `gocardless mandate MD0001`. */
  subject: string;
  /** Where it stands, in Markdown, e.g. `customer CU0001, account **suspended**`. */
  standing: string;
  /** One line each for the open items (a dunning case, …). */
  items?: string[];
  /** What it does next, and when. */
  next?: string;
  lastEvent?: { type: string; id: string; outcome: string };
  /** The last step taken on a timer. */
  lastStep?: { action: string; at: string };
}

/** The details as Markdown: the subject and its items, then a paragraph each for next, last event, last step. */
export function formatDetails(details: Details): string {
  const { subject, standing, items = [], next, lastEvent, lastStep } = details;
  return [
    [`**${subject}** — ${standing}`, ...items.map((item) => `- ${item}`)].join('\n'),
    next && `Next: ${next}`,
    lastEvent && `Last event: ${lastEvent.type} (${lastEvent.id}) → ${lastEvent.outcome}`,
    lastStep && `Last step: ${lastStep.action} (${lastStep.at})`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

export function showDetails(details: Details): void {
  setCurrentDetails(formatDetails(details));
}

/**
 * Keeps a workflow's search attributes (the Web UI's list filters) in step with its state. Each
 * upsert is a command Temporal persists and indexes, so only a change is sent.
 */
export class ShownSearchAttributes {
  private shown?: string;
  private heldBack = false;

  /**
   * Leaves out the upsert of the state a workflow starts in when its first event is already in
   * (signal-with-start hands it over with the start): the state after that event is upserted
   * instead, one action rather than two for every new workflow. Histories recorded before did
   * both, and replay that way (a `patched()` check).
   */
  holdBackStartingState(firstEventIn: boolean): void {
    this.heldBack = firstEventIn && patched('search-attributes-after-first-event');
  }

  /**
   * Upserts `pairs` unless they are what was upserted last. `skipUnchanged` is asked only when
   * nothing changed, for workflows whose older histories upserted every time (a `patched()` check).
   */
  update(pairs: SearchAttributeUpdatePair[], skipUnchanged: () => boolean = () => true): void {
    if (this.heldBack) {
      this.heldBack = false;
      return;
    }
    const wanted = JSON.stringify(pairs.map((pair) => [pair.key.name, pair.value]));
    if (wanted === this.shown && skipUnchanged()) return;
    upsertSearchAttributes(pairs);
    this.shown = wanted;
  }
}
