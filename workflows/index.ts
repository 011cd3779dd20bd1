// Everything the worker's workflow bundle contains. Users add their own workflows here.
export { mandateWorkflow } from './mandate';
