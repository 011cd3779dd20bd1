// The subscription workflow, cut by process: dunning, renewal, end of access (each a pure state
// part and a process that calls the activities), the state they share, and the wiring.
export { subscriptionStateQuery, subscriptionWorkflow, type SubscriptionWorkflowInput } from './workflow';
export { defaultSubscriptionPolicy, type SubscriptionPolicy } from './policy';
export type { DunningCase, DunningStage, SubscriptionSnapshot, SubscriptionStatus } from './snapshot';
export type { DueWork, NextAction, SubscriptionView } from './state';
