import type { Client } from '@temporalio/client';

type History = Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/**
 * Temporal Cloud's billable actions, by kind, as its pricing page counts them from a history:
 * a start (client start or continue-as-new; a signal-with-start is one action with its signal),
 * each signal, each activity attempt, each workflow task's local activities (one action per task),
 * each timer, each search-attribute upsert (bar TemporalChangeVersion-only ones). Queries are
 * actions too but leave no trace in a history.
 */
export interface Actions {
  starts: number;
  continueAsNew: number;
  signals: number;
  activities: number;
  localActivityTasks: number;
  timers: number;
  upserts: number;
}

export const actionKinds: readonly (keyof Actions)[] = ['starts', 'continueAsNew', 'signals', 'activities', 'localActivityTasks', 'timers', 'upserts'];

export function noActions(): Actions {
  return { starts: 0, continueAsNew: 0, signals: 0, activities: 0, localActivityTasks: 0, timers: 0, upserts: 0 };
}

export function addActions(into: Actions, more: Actions): Actions {
  for (const kind of actionKinds) into[kind] += more[kind];
  return into;
}

export function totalActions(actions: Actions): number {
  return actionKinds.reduce((sum, kind) => sum + actions[kind], 0);
}

const markerNames = new Set(['core_local_activity']);

/** The actions one run's history holds. */
export function actionsOfHistory(history: History): Actions {
  const actions = noActions();
  const events = (history.events ?? []) as HistoryEvent[];
  let localActivitiesThisTask = false;
  events.forEach((event, index) => {
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      if (started.continuedExecutionRunId) actions.continueAsNew += 1;
      // Signal-with-start records the signal right after the start: one action for the two.
      else if (!events[index + 1]?.workflowExecutionSignaledEventAttributes) actions.starts += 1;
    }
    if (event.workflowExecutionSignaledEventAttributes) actions.signals += 1;
    const activityStarted = event.activityTaskStartedEventAttributes;
    // Only the last attempt is in the history; its number counts the ones before it.
    if (activityStarted) actions.activities += Math.max(1, Number(activityStarted.attempt ?? 1));
    if (event.timerStartedEventAttributes) actions.timers += 1;
    const upsert = event.upsertWorkflowSearchAttributesEventAttributes;
    if (upsert) {
      const fields = Object.keys(upsert.searchAttributes?.indexedFields ?? {});
      if (fields.some((field) => field !== 'TemporalChangeVersion')) actions.upserts += 1;
    }
    const marker = event.markerRecordedEventAttributes;
    if (marker && markerNames.has(marker.markerName ?? '')) localActivitiesThisTask = true;
    if (event.workflowTaskCompletedEventAttributes || index === events.length - 1) {
      if (localActivitiesThisTask) actions.localActivityTasks += 1;
      localActivitiesThisTask = false;
    }
  });
  return actions;
}

/** Every run of every execution of `workflowId` (the continue-as-new chain and later fresh runs). */
export async function actionsOfWorkflow(client: Client, workflowId: string): Promise<{ workflowType: string; runs: number; actions: Actions }> {
  const actions = noActions();
  let runs = 0;
  let workflowType = '';
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    workflowType = execution.type;
    runs += 1;
    addActions(actions, actionsOfHistory(await client.workflow.getHandle(workflowId, execution.runId).fetchHistory()));
  }
  return { workflowType, runs, actions };
}
