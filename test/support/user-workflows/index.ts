// A user's workflows file as the worker bundles it: billflow's workflows next to one of the user's.
export * from '../../../workflows';
export { cancellationNoticeWorkflow } from './cancellation-notice';
