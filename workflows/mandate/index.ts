// The mandate workflow: its wiring (workflow.ts), what it does with each event (processes.ts),
// the provider's confirmation (at-provider.ts), its pure state (state.ts) and the Web UI (shown.ts).
export { mandateStateQuery, mandateWorkflow, type MandateWorkflowInput } from './workflow';
export type { AccountAccess, MandateSnapshot } from './state';
