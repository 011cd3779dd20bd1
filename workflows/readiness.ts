/**
 * Completes at once. `dev` runs it before it says billflow is running: its start, its first
 * workflow task on the worker and its completion go through the dev server's history and matching
 * services and the worker's workflow threads, which the frontend's own readiness answer does not
 * show are ready. A newcomer's first webhook then meets a warm path.
 */
export async function readinessWorkflow(): Promise<string> {
  return 'ready';
}
