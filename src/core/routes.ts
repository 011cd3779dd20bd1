/** Which entity workflow an event belongs to: signal-with-start target. */
export interface WorkflowRoute {
  workflowType: string;
  /** `<provider>:<subject>:<id>`, e.g. `gocardless:mandate:MD000123`. */
  workflowId: string;
  /** Arguments the workflow is started with when it does not run yet. */
  args: unknown[];
}
