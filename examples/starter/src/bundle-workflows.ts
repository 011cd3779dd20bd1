// Part of `npm run build`: bundles the compiled workflows once, so that the compiled worker
// (`npm run start:worker`) loads them without webpack at every start.
import path from 'node:path';
import { bundleWorkflows } from 'billflow/worker';

bundleWorkflows({ workflowsPath: require.resolve('./workflows'), outFile: path.join(__dirname, 'workflow-bundle.js') }).then(
  ({ outFile, bytes }) => console.log(`workflow bundle: ${outFile} (${Math.round(bytes / 1024)} KiB)`),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
