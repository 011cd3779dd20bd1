// billflow's workflows, all that its own bundle contains. Your workflows file re-exports them
// (`export * from 'billflow/workflows'`) next to your own: see examples/starter/src/workflows.ts.
export { accountWorkflow } from './account';
export { catchUpWorkflow } from './catch-up';
export { deadLetterWorkflow } from './dead-letter';
export { deadLettersWorkflow } from './dead-letters';
export { mandateWorkflow } from './mandate';
export { paymentResolverWorkflow } from './resolver';
export { subscriptionWorkflow } from './subscription';
export { readinessWorkflow } from './readiness';
