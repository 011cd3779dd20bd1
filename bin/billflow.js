#!/usr/bin/env node
// In a checkout (sources and tsx present) the CLI runs the TypeScript sources through tsx, so
// `npx billflow …` never runs a stale build; an installed package or the production image has
// only the compiled JavaScript (`npm run build`), which runs as it is.
const { existsSync } = require('node:fs');
const path = require('node:path');

const sources = path.join(__dirname, '../src/cli/main.ts');
const compiled = path.join(__dirname, '../dist/src/cli/main.js');

function hasTsx() {
  try {
    require.resolve('tsx/cjs');
    return true;
  } catch {
    return false;
  }
}

if (existsSync(sources) && hasTsx()) {
  require('tsx/cjs');
  require(sources);
} else if (existsSync(compiled)) {
  require(compiled);
} else {
  process.stderr.write('billflow: no compiled CLI (dist/src/cli/main.js) and no sources with tsx to run: run `npm run build`\n');
  process.exit(1);
}
