import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);
// A user's workflow code (the starter's) takes billflow/workflow and billflow/workflows; the rest runs in Node.
const billflowNodeEntries = ['billflow', 'billflow/receiver', 'billflow/worker', 'billflow/testing'].map((name) => ({
  name,
  allowTypeImports: true,
  message: 'Workflow code imports billflow/workflow and billflow/workflows only (types from the rest).',
}));

/**
 * Every file that is bundled into workflow code, wherever it sits: billflow's workflows (and the
 * building blocks users import from them), the starter's, and the test workers' own.
 */
const workflowFiles = [
  'workflows/**/*.ts',
  'examples/*/src/workflows.ts',
  'examples/*/src/**/workflow.ts',
  'test/support/user-workflows/*.ts',
  'test/support/billing-workflows.ts',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.billflow/', 'test/histories/', '.dependency-cruiser.cjs', 'examples/*/node_modules/', 'examples/*/dist/', 'examples/*/test/histories/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.mjs', 'bin/*.js', 'scripts/*.js', 'scripts/*.mjs'] }, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The bin shim and build scripts are plain CommonJS: the shim loads the CLI (sources through tsx, or compiled).
    files: ['bin/*.js', 'scripts/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // node:test's describe/it return promises that the runner itself awaits.
    files: ['examples/*/test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] }] }],
    },
  },
  {
    // The CLI loads its development commands with require() when they run (see developmentModule).
    files: ['src/cli/main.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no
    // wall clock or randomness outside the SDK, and activities only through proxyActivities.
    files: workflowFiles,
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...billflowNodeEntries],
          // By what an import reaches, however many folders up it starts: `../src/config` and
          // `../../src/config` alike. src/core imports nothing of billflow: its values may come in.
          patterns: [
            { regex: '(^|/)activities(/|$)', allowTypeImports: true, message: 'Workflows call activities through proxyActivities; import only their types.' },
            { regex: '(^|/)src(/(?!core(/|$))|$)', allowTypeImports: true, message: 'Workflows import only types from src/ outside src/core/: its code may do I/O.' },
            { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing', 'koa', 'pg', 'pino'], message: 'Not deterministic: not allowed in workflow code.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'No process access in workflows.' },
        { name: 'setInterval', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'fetch', message: 'Workflows do no I/O: use an activity.' },
        { name: 'require', message: 'Use static imports in workflows.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use uuid4() from @temporalio/workflow or pass randomness in.' },
      ],
    },
  },
);
