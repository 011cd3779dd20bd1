/**
 * Imports go one way: core ← providers ← receiver, workflows, activities ← worker, CLI, dev.
 * `npm run lint` checks these rules (dependency-cruiser).
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules cannot be understood, tested or loaded one without the other.',
      from: { path: '^(src|workflows|activities)/' },
      to: { circular: true },
    },
    {
      name: 'core-imports-nothing',
      severity: 'error',
      comment: 'Core types, ids and errors are what everything else builds on: they import nothing of billflow.',
      from: { path: '^src/core/' },
      to: { path: '^(src|workflows|activities)/', pathNot: '^src/core/' },
    },
    {
      name: 'workflows-deterministic',
      severity: 'error',
      comment: 'Workflow code is bundled into the deterministic sandbox: it imports workflows, core, and only types of the rest.',
      from: { path: '^workflows/' },
      to: { path: '^(src|activities)/', pathNot: '^src/core/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-no-node-builtins',
      severity: 'error',
      from: { path: '^(workflows|src/core)/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'providers-below-runtime',
      severity: 'error',
      comment: 'A provider knows its own API and webhooks; the receiver, worker, CLI and config build on providers, not the reverse.',
      from: { path: '^src/providers/' },
      to: { path: '^(src/(receiver|run|cli|temporal|store|config)|workflows|activities)' },
    },
    {
      name: 'production-code-without-test-stand-ins',
      severity: 'error',
      comment: 'The sandbox and webhook templates are not in the production image: only testing code and the dev CLI load them.',
      from: { path: '^(src|workflows|activities)/', pathNot: ['^src/testing/', '^src/providers/[^/]+/testing/', '^src/cli/'] },
      to: { path: ['^src/testing/', '^src/providers/[^/]+/testing/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
