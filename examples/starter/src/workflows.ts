// Everything this project's worker runs: billflow's workflows and yours. The worker bundles this
// file (`npm run worker`), or the bundle `npm run build` made of it (`npm run start:worker`).
export * from 'billflow/workflows';
export { winBackWorkflow } from './win-back/workflow';
