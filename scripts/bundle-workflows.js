// Part of `npm run build`: bundles billflow's compiled workflows once (dist/workflow-bundle.js), so
// that a worker running the compiled code loads them without webpack at start.
const path = require('node:path');
const { bundleWorkflows } = require('../dist/src/temporal/workflow-bundle');

const dist = path.resolve(__dirname, '../dist');
bundleWorkflows({ workflowsPath: path.join(dist, 'workflows'), outFile: path.join(dist, 'workflow-bundle.js') }).then(
  ({ outFile, bytes }) => process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), outFile)} (${Math.round(bytes / 1024)} KiB)\n`),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
