#!/usr/bin/env bash
# billflow as a user gets it, outside this repository:
#   1. `npm pack` (which builds: tsc and the workflow bundle) into a scratch directory;
#   2. an empty project installs the tarball and loads every entry with plain node (no tsx
#      installed there; from CommonJS and ESM), its `npx billflow --help` runs the compiled CLI,
#      and billflow's recorded histories replay against the packed workflow bundle;
#   3. a copy of examples/starter installs the tarball, typechecks against the package's published
#      types, runs its test (a Temporal dev server: TEMPORAL_CLI, else billflow finds or builds
#      one), and builds (tsc and its own workflow bundle).
# The scratch directory is removed on success and kept, with its path printed, on failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/billflow-package.XXXXXX")
trap 'status=$?; if ((status == 0)); then rm -rf "$scratch"; else echo "kept for inspection: $scratch" >&2; fi' EXIT
npm_install() { npm install --no-audit --no-fund --prefer-offline "$@" </dev/null; }

echo "==> npm pack"
npm pack --pack-destination "$scratch" </dev/null | tail -n 1
tarball=$(ls "$scratch"/billflow-*.tgz)

echo "==> an empty project installs it and loads it without tsx"
mkdir "$scratch/empty"
(
  cd "$scratch/empty"
  npm init -y >/dev/null
  npm_install "$tarball" >/dev/null
  if [[ -e node_modules/tsx ]]; then echo "tsx was installed with billflow" >&2; exit 1; fi
  node -e "
    for (const entry of ['billflow', 'billflow/receiver', 'billflow/worker', 'billflow/workflows', 'billflow/workflow', 'billflow/testing']) {
      const exported = Object.keys(require(entry));
      console.log('  ' + entry.padEnd(20) + exported.length + ' exports');
    }
    if (typeof require('billflow/receiver').createReceiverRouter !== 'function') throw new Error('no createReceiverRouter');
    if (typeof require('billflow/worker').startWorkerProcess !== 'function') throw new Error('no startWorkerProcess');
    require('node:fs').accessSync(require('billflow/worker').billflowWorkflowBundlePath);
  "
  # ESM projects import the CommonJS entries by name too.
  node --input-type=module -e "
    import { loadConfig } from 'billflow';
    import { createReceiverRouter } from 'billflow/receiver';
    import { startWorkerProcess } from 'billflow/worker';
    import { EventInbox } from 'billflow/workflow';
    import { buildWebhook } from 'billflow/testing';
    for (const value of [loadConfig, createReceiverRouter, startWorkerProcess, EventInbox, buildWebhook]) if (typeof value !== 'function') throw new Error('missing named export');
    console.log('  named imports from ESM: ok');
  "
  npx --no-install billflow --help | head -n 1
  # The prebuilt bundle production runs is billflow's workflow code: its recorded histories replay.
  node -e "
    const { readdirSync } = require('node:fs');
    const path = require('node:path');
    const { DefaultLogger, Runtime, Worker } = require('@temporalio/worker');
    Runtime.install({ logger: new DefaultLogger('WARN') });
    const { billflowWorkflowBundlePath } = require('billflow/worker');
    const { readHistoryFile } = require('billflow/testing');
    const dir = process.argv[1];
    (async () => {
      const files = readdirSync(dir).filter((file) => file.endsWith('.json'));
      const histories = await Promise.all(files.map(async (file) => ({ workflowId: file, history: await readHistoryFile(path.join(dir, file)) })));
      const failures = [];
      for await (const result of Worker.runReplayHistories({ workflowBundle: { codePath: billflowWorkflowBundlePath }, replayName: 'package-replay' }, histories)) {
        if (result.error) failures.push(result.workflowId + ': ' + result.error);
      }
      if (failures.length > 0) throw new Error(failures.join('\\n'));
      console.log('  replayed ' + histories.length + ' recorded histories against the packed workflow bundle');
    })().catch((error) => { console.error(error); process.exit(1); });
  " "$repo/test/histories"
)

echo "==> the starter, on the tarball"
cp -R examples/starter "$scratch/starter"
rm -rf "$scratch/starter/node_modules" "$scratch/starter/dist" "$scratch/starter/package-lock.json"
(
  cd "$scratch/starter"
  npm_install "$tarball" >/dev/null
  npm run --silent typecheck
  echo "  typecheck: ok"
  npm test
  npm run --silent build >/dev/null
  test -s dist/workflow-bundle.js
  echo "  build: ok ($(du -k dist/workflow-bundle.js | cut -f1) KiB workflow bundle)"
)
