// Everything the worker's workflow bundle contains. Users add their own workflows here.
export { accountWorkflow } from './account';
export { mandateWorkflow } from './mandate';
export { paymentResolverWorkflow } from './resolver';
export { subscriptionWorkflow } from './subscription';
// The example of a user-written workflow (workflows/examples/win-back.ts); harmless unless routed.
export { winBackWorkflow } from './examples/win-back';
